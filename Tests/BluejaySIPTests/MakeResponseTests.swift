import BluejaySIP
import XCTest

final class MakeResponseTests: XCTestCase {
    private func reparsed(_ response: SIPMessage, file: StaticString = #filePath, line: UInt = #line) throws -> SIPMessage {
        try expectMessage(SIPMessage.parse(response.serialize()), "response", file: file, line: line)
    }

    func testCopiesDialogHeadersAndAddsToTag() throws {
        let request = try Fixture.message("invite-sdp-xheaders.sip")
        let response = try reparsed(request.makeResponse(status: 180, toTag: "bj-1"))
        XCTAssertFalse(response.isRequest)
        XCTAssertEqual(response.statusCode, 180)
        XCTAssertEqual(response.reasonPhrase, "Ringing")
        XCTAssertEqual(response.method, "INVITE")
        XCTAssertEqual(response.callID, request.callID)
        XCTAssertEqual(response.cseqNumber, request.cseqNumber)
        XCTAssertEqual(response.cseqMethod, "INVITE")
        XCTAssertEqual(response.fromHeader, request.fromHeader)
        XCTAssertEqual(response.fromTag, request.fromTag)
        XCTAssertEqual(response.toTag, "bj-1")
        XCTAssertEqual(response.toURI, request.toURI)
        XCTAssertEqual(response.vias, request.vias)
        XCTAssertNil(response.maxForwards)
        XCTAssertEqual(response.body, [])
        XCTAssertEqual(response.headerValues("Content-Length"), ["0"])
    }

    func testExistingToTagIsKept() throws {
        let request = try Fixture.message("bye.sip")
        let response = try reparsed(request.makeResponse(status: 200, toTag: "other"))
        XCTAssertEqual(response.toTag, "bj-8c1f")
        XCTAssertEqual(response.headerValues("To").count, 1)
        XCTAssertEqual(response.reasonPhrase, "OK")
    }

    func testCustomReasonAndDefaultPhrases() throws {
        let request = try Fixture.message("options.sip")
        XCTAssertEqual(try reparsed(request.makeResponse(status: 503, reason: "Try Later")).reasonPhrase, "Try Later")
        XCTAssertEqual(try reparsed(request.makeResponse(status: 481)).reasonPhrase, "Call/Transaction Does Not Exist")
        XCTAssertEqual(try reparsed(request.makeResponse(status: 422)).reasonPhrase, "Session Interval Too Small")
        XCTAssertEqual(try reparsed(request.makeResponse(status: 499)).reasonPhrase, "Bad Request")
    }

    func testReceivedAndRPortStampOnlyTheTopVia() throws {
        let request = try Fixture.message("invite-record-route.sip")
        XCTAssertEqual(request.vias.count, 3)
        let response = try reparsed(request.makeResponse(status: 100, received: "192.0.2.77", rport: 40000))
        XCTAssertEqual(response.vias.count, 3)
        XCTAssertEqual(response.vias[0].host, "p2.example.com")
        XCTAssertEqual(response.vias[0].received, "192.0.2.77")
        // The top Via did not ask for rport, so it gets none (RFC 3581 §4).
        XCTAssertEqual(response.vias[0].rport, .absent)
        XCTAssertEqual(response.vias[1], request.vias[1])
        XCTAssertEqual(response.vias[2], request.vias[2])
    }

    func testRPortIsFilledWhenRequested() throws {
        let request = try Fixture.message("options.sip")
        XCTAssertEqual(request.topVia?.rport, .requested)
        let response = try reparsed(request.makeResponse(status: 200, received: "198.51.100.99", rport: 5099))
        XCTAssertEqual(response.topVia?.rport, .value(5099))
        XCTAssertEqual(response.topVia?.received, "198.51.100.99")
        XCTAssertEqual(response.topVia?.branch, "z9hG4bKopt1")
        let withoutRPortArgument = try reparsed(request.makeResponse(status: 200))
        XCTAssertEqual(withoutRPortArgument.topVia?.rport, .requested)
        XCTAssertNil(withoutRPortArgument.topVia?.received)
    }

    func testExistingReceivedIsReplaced() throws {
        let request = try expectMessage(SIPMessage.parse(sip("""
        OPTIONS sip:a@b.example SIP/2.0
        Via: SIP/2.0/UDP h.example;branch=z9hG4bK1;received=10.0.0.1;rport=1234
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>
        Call-ID: stale-received
        CSeq: 1 OPTIONS
        Content-Length: 0


        """)))
        let response = try reparsed(request.makeResponse(status: 200, received: "198.51.100.1", rport: 5060))
        XCTAssertEqual(response.topVia?.received, "198.51.100.1")
        XCTAssertEqual(response.topVia?.rport, .value(5060))
        let text = String(decoding: response.serialize(), as: UTF8.self)
        XCTAssertEqual(text.components(separatedBy: "received=").count, 2, "only one received parameter")
        XCTAssertEqual(text.components(separatedBy: "rport=").count, 2, "only one rport parameter")
    }

    func testIPv6ReceivedRoundTrips() throws {
        let request = try Fixture.message("invite-ipv6.sip")
        let response = try reparsed(request.makeResponse(status: 100, received: "2001:db8::77", rport: 5062))
        XCTAssertEqual(response.topVia?.host, "2001:db8::10")
        XCTAssertEqual(response.topVia?.received, "2001:db8::77")
        XCTAssertEqual(response.topVia?.rport, .value(5062))
    }

    func testRecordRouteCopiedOnlyForDialogCreatingResponses() throws {
        let request = try Fixture.message("invite-record-route.sip")
        for status in [180, 183, 200] {
            let response = try reparsed(request.makeResponse(status: status, toTag: "t"))
            XCTAssertEqual(response.headerValues("Record-Route"), ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"], "\(status)")
        }
        for status in [100, 486, 302] {
            let response = try reparsed(request.makeResponse(status: status, toTag: "t"))
            XCTAssertEqual(response.headerValues("Record-Route"), [], "\(status)")
        }
    }

    func testRecordRouteNotCopiedForNonDialogMethods() throws {
        let text = String(decoding: Fixture.valid("options.sip"), as: UTF8.self)
            .replacingOccurrences(of: "Accept: application/sdp\r\n", with: "Record-Route: <sip:p1.example.com;lr>\r\n")
        let request = try expectMessage(SIPMessage.parse(Array(text.utf8)))
        let response = try reparsed(request.makeResponse(status: 200))
        XCTAssertEqual(response.headerValues("Record-Route"), [])
    }

    func testExtraHeadersInOrderAndBody() throws {
        let request = try Fixture.message("invite-session-timer.sip")
        let sdp = SDPAnswer.answer(to: request.body, localAddress: "203.0.113.5", sessionID: 42)!
        let response = request.makeResponse(
            status: 200, toTag: "bj-200",
            headers: [
                ("Contact", "<sip:agent@203.0.113.5:5060>"),
                ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"),
                ("Supported", "timer"),
                ("Require", "timer"),
                ("Session-Expires", "1800;refresher=uac"),
                ("Server", "bluejay-sidecar"),
                ("Content-Length", "999"),
            ],
            contentType: "application/sdp", body: sdp)
        let wire = String(decoding: response.serialize(), as: UTF8.self)
        XCTAssertTrue(wire.hasPrefix("SIP/2.0 200 OK\r\n"))
        XCTAssertTrue(wire.contains("Supported: timer\r\nRequire: timer\r\nSession-Expires: 1800;refresher=uac\r\nServer: bluejay-sidecar\r\n"),
                      "unknown headers keep their spelling and order:\n\(wire)")
        let parsed = try reparsed(response)
        XCTAssertEqual(parsed.contactURI, "sip:agent@203.0.113.5:5060")
        XCTAssertEqual(parsed.headerValues("Allow").joined(separator: ", "), "INVITE, ACK, CANCEL, BYE, OPTIONS")
        XCTAssertEqual(parsed.sessionExpires?.seconds, 1800)
        XCTAssertEqual(parsed.require, ["timer"])
        XCTAssertEqual(parsed.contentType, "application/sdp")
        XCTAssertEqual(parsed.body, sdp)
        XCTAssertEqual(parsed.headerValues("Content-Length"), [String(sdp.count)], "Content-Length is computed, never taken from headers")
    }

    func testResponseAccessorsWorkWithoutReparsing() throws {
        let request = try Fixture.message("invite-sdp-xheaders.sip")
        let response = request.makeResponse(status: 486, toTag: "busy", headers: [("X-Reason", "test  value")])
        XCTAssertEqual(response.statusCode, 486)
        XCTAssertEqual(response.toTag, "busy")
        XCTAssertEqual(response.reasonPhrase, "Busy Here")
        XCTAssertEqual(response.xHeaders.map(\.value), ["test value"])
        XCTAssertEqual(response.topVia, request.topVia)
    }

    func testContentTypeWithoutBody() throws {
        let request = try Fixture.message("options.sip")
        let response = try reparsed(request.makeResponse(status: 200, contentType: "application/sdp"))
        XCTAssertEqual(response.body, [])
        XCTAssertEqual(response.headerValues("Content-Length"), ["0"])
    }
}
