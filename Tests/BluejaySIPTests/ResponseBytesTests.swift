@testable import BluejaySIP
import XCTest

/// `responseBytes` copies a request's headers as received; libosip2's `makeResponse` rebuilds them. Over every
/// fixture (RFC 4475's and RFC 5118's torture tests among them), and with every argument the user agent uses,
/// both must say the same thing once parsed back.
final class ResponseBytesTests: XCTestCase {
    private struct Arguments {
        var status: Int
        var reason: String? = nil
        var toTag: String? = nil
        var received: String? = nil
        var rport: Int? = nil
        var headers: [(String, String)] = []
        var contentType: String? = nil
        var body: [UInt8] = []
    }

    private let cases: [Arguments] = [
        Arguments(status: 100, received: "192.0.2.77", rport: 40000),
        Arguments(status: 180, toTag: "bj-1", headers: [("Contact", "<sip:agent@192.0.2.1:5060>")]),
        Arguments(status: 200, toTag: "bj-2", rport: 5070,
                  headers: [("Contact", "<sip:agent@192.0.2.1:5060>"), ("Supported", "timer"), ("Server", "bluejay-sidecar"),
                            ("Content-Length", "999")],
                  contentType: "application/sdp", body: Array("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n".utf8)),
        Arguments(status: 200, received: "2001:db8::77", rport: 5062),
        Arguments(status: 481, reason: "Call Leg Gone", toTag: "bj-3"),
        Arguments(status: 486, toTag: "busy", headers: [("X-Reason", "test  value")]),
    ]

    private func both(_ request: SIPMessage, _ a: Arguments) -> (copied: [UInt8], built: [UInt8]) {
        (request.responseBytes(status: a.status, reason: a.reason, toTag: a.toTag, received: a.received, rport: a.rport,
                               headers: a.headers, contentType: a.contentType, body: a.body),
         request.makeResponse(status: a.status, reason: a.reason, toTag: a.toTag, received: a.received, rport: a.rport,
                              headers: a.headers, contentType: a.contentType, body: a.body).serialize())
    }

    /// What a parsed response says, field by field, as text.
    private static let fields: [(String, (SIPMessage) -> String)] = [
        ("status", { "\($0.statusCode) \($0.reasonPhrase ?? "-")" }),
        ("Via", { "\($0.vias)" }),
        ("From", { $0.fromHeader }),
        ("To", { "\($0.toHeader) tag=\($0.toTag ?? "-")" }),
        ("Call-ID", { $0.callID }),
        ("CSeq", { "\($0.cseqNumber) \($0.cseqMethod)" }),
        ("Record-Route", { "\($0.recordRoutes)" }),
        ("Contact", { $0.contactURI ?? "-" }),
        ("Supported", { "\($0.supported)" }),
        ("Server", { "\($0.headerValues("Server"))" }),
        ("X-Reason", { "\($0.headerValues("X-Reason"))" }),
        ("Content-Length", { "\($0.headerValues("Content-Length"))" }),
        ("Content-Type", { $0.contentType ?? "-" }),
        ("body", { "\($0.body)" }),
    ]

    private func assertSame(_ copied: [UInt8], _ built: [UInt8], _ label: String) {
        guard case .message(let c) = SIPMessage.parse(copied) else {
            return XCTFail("\(label): the copied response does not parse:\n\(String(decoding: copied, as: UTF8.self))")
        }
        guard case .message(let b) = SIPMessage.parse(built) else { return XCTFail("\(label): libosip2's response does not parse") }
        for (field, read) in Self.fields { XCTAssertEqual(read(c), read(b), "\(label): \(field)") }
    }

    func testEveryValidRequestGetsTheResponseLibosip2WouldBuild() throws {
        var copied = 0, requests = 0
        for name in Fixture.names(in: "valid") {
            guard case .message(let request) = SIPMessage.parse(Fixture.valid(name)), request.isRequest, request.method != "ACK" else { continue }
            requests += 1
            for (i, a) in cases.enumerated() {
                let (c, b) = both(request, a)
                assertSame(c, b, "\(name) case \(i)")
                if request.copiedResponse(status: a.status, reason: a.reason ?? SIPReasonPhrase.standard(for: a.status), toTag: a.toTag,
                                          received: a.received, rport: a.rport, headers: a.headers, contentType: a.contentType,
                                          body: a.body) != nil {
                    copied += 1
                }
            }
        }
        XCTAssertGreaterThan(requests, 40)
        // Most requests take the copy; the few it cannot stand for take libosip2's path.
        XCTAssertGreaterThan(copied, requests * cases.count * 3 / 4, "the copy was taken for \(copied) of \(requests * cases.count)")
    }

    /// Requests parsed only to be refused (`badRequest`) may be wrong in the very headers the copy would take:
    /// they take libosip2's path (which the 400 is built with anyway).
    func testRefusedRequestsTakeLibosip2sPath() throws {
        var tried = 0
        for folder in ["valid", "invalid"] {
            for name in Fixture.names(in: folder) {
                guard case .badRequest(let request, _) = SIPMessage.parse(Fixture.bytes(folder, name)) else { continue }
                tried += 1
                XCTAssertEqual(request.responseBytes(status: 400, reason: "Bad Request", toTag: "bj400"),
                               request.makeResponse(status: 400, reason: "Bad Request", toTag: "bj400").serialize(), "\(folder)/\(name)")
            }
        }
        XCTAssertGreaterThan(tried, 5)
    }

    func testTheCommonInviteIsCopiedWithItsTopViaStamped() throws {
        let request = try Fixture.message("invite-sdp-xheaders.sip")
        let text = String(decoding: request.responseBytes(status: 200, toTag: "bj-9", received: "198.51.100.7", rport: 5099,
                                                          headers: [("Contact", "<sip:a@192.0.2.1>")]), as: UTF8.self)
        let built = String(decoding: request.makeResponse(status: 200, toTag: "bj-9", received: "198.51.100.7", rport: 5099,
                                                          headers: [("Contact", "<sip:a@192.0.2.1>")]).serialize(), as: UTF8.self)
        XCTAssertNotNil(request.copiedResponse(status: 200, reason: "OK", toTag: "bj-9", received: "198.51.100.7", rport: 5099,
                                               headers: [("Contact", "<sip:a@192.0.2.1>")], contentType: nil, body: []))
        XCTAssertEqual(text, built, "a plainly written request: the copy is libosip2's response byte for byte")
        XCTAssertTrue(text.hasPrefix("SIP/2.0 200 OK\r\nVia: "), text)
        XCTAssertTrue(text.hasSuffix("Content-Length: 0\r\n\r\n"), text)
        let response = try expectMessage(SIPMessage.parse(Array(text.utf8)))
        XCTAssertEqual(response.topVia?.received, "198.51.100.7")
        XCTAssertEqual(response.toTag, "bj-9")
        XCTAssertEqual(response.vias.count, request.vias.count)
    }

    /// Found by the fuzzer (sip-fixtures/fuzz/sip/crash-call-id-with-a-run-of-spaces.sip, crash-via-param-empty-value.sip):
    /// a value with a run of spaces or a fold is one libosip2 may keep as it is (a Call-ID, compared byte for byte),
    /// and a Via with `maddr=` would not parse back; a Via with a ';' before its space (crash-via-params-before-sent-by.sip)
    /// is one libosip2 reads past, where the copy would replace a `received` libosip2 never saw: such requests take
    /// libosip2's path. So does a To ending in an empty parameter (crash-to-ends-with-empty-param.bin, hep), where the
    /// copy wrote `;;tag=`.
    func testValuesTheCopyCannotStandForTakeLibosip2sPath() throws {
        for (header, value) in [("Call-ID", "SIP/2.0  o1"), ("Call-ID", "a\tb@h"), ("CSeq", "1  OPTIONS"), ("From", "<sip:a@h>;tag=1\r\n x=y"),
                                ("Via", "SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw;maddr="),
                                ("Via", "SIP;received=/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw"),
                                ("To", "<sip:uas@127.0.0.1>;")] {
            var lines = ["OPTIONS sip:uas@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1", "Max-Forwards: 70",
                         "From: <sip:a@127.0.0.1>;tag=1", "To: <sip:uas@127.0.0.1>", "Call-ID: c1@h", "CSeq: 1 OPTIONS"]
            let i = lines.firstIndex { $0.hasPrefix(header + ":") }!
            lines[i] = "\(header): \(value)"
            guard case .message(let request) = SIPMessage.parse(Array((lines.joined(separator: "\r\n") + "\r\nContent-Length: 0\r\n\r\n").utf8)) else {
                return XCTFail("\(header): the request is refused, so it never tests the copy")
            }
            let copied = request.responseBytes(status: 200, toTag: "t", received: "192.0.2.7", rport: 5070)
            guard case .message(let response) = SIPMessage.parse(copied) else { return XCTFail("\(header): the response does not parse") }
            XCTAssertEqual(response.callID, request.callID, header)
            XCTAssertEqual(response.cseqNumber, request.cseqNumber, header)
            XCTAssertEqual(copied, request.makeResponse(status: 200, toTag: "t", received: "192.0.2.7", rport: 5070).serialize(), "\(header): libosip2's path")
        }
    }

    func testValuesWithLineBreaksTakeLibosip2sPath() throws {
        let request = try Fixture.message("options.sip")
        let a = request.responseBytes(status: 200, headers: [("X-Bad", "a\r\nInjected: yes")])
        let b = request.makeResponse(status: 200, headers: [("X-Bad", "a\r\nInjected: yes")]).serialize()
        XCTAssertEqual(a, b)
        XCTAssertEqual(request.responseBytes(status: 200, reason: "OK\r\nX: y"),
                       request.makeResponse(status: 200, reason: "OK\r\nX: y").serialize())
    }
}
