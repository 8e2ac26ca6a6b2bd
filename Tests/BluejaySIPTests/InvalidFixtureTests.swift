import BluejaySIP
import XCTest

/// Every fixture under `invalid/` is refused, and the table pins down how: a 400 we can route, or a
/// silent drop, with the exact reason. A change in libosip2 or in our checks shows up here.
final class InvalidFixtureTests: XCTestCase {
    enum Expected {
        case badRequest(SIPParseError)
        case drop(SIPParseError)
    }

    static let table: [String: Expected] = [
        // RFC 4475 §3.1.2 (invalid messages).
        "rfc4475-badinv01.sip": .drop(.unparseable("malformed Via header")),  // the Via itself is the broken part
        "rfc4475-clerr.sip": .badRequest(.invalid("Content-Length 9999 exceeds the 154 body bytes received")),
        "rfc4475-ncl.sip": .badRequest(.invalid("bad Content-Length")),
        "rfc4475-scalar02.sip": .badRequest(.invalid("bad CSeq number")),      // also Max-Forwards 300
        "rfc4475-scalarlg.sip": .drop(.invalid("bad CSeq number")),             // a response
        "rfc4475-quotbal.sip": .badRequest(.unparseable("malformed To header")),
        "rfc4475-ltgtruri.sip": .badRequest(.unparseable("malformed request line")),
        "rfc4475-lwsruri.sip": .badRequest(.unparseable("malformed request line")),
        "rfc4475-lwsstart.sip": .badRequest(.unparseable("malformed request line")),
        "rfc4475-trws.sip": .badRequest(.unparseable("malformed request line")),
        "rfc4475-escruri.sip": .badRequest(.invalid("request-URI carries headers")),
        "rfc4475-baddate.sip": .badRequest(.invalid("Date is not in GMT")),
        "rfc4475-regbadct.sip": .badRequest(.invalid("contact URI with headers must be enclosed in <>")),
        "rfc4475-badaspec.sip": .badRequest(.unparseable("malformed To header")),
        "rfc4475-baddn.sip": .badRequest(.unparseable("malformed From header")),
        "rfc4475-badvers.sip": .badRequest(.invalid("unsupported SIP version SIP/7.0")),  // RFC says 505
        "rfc4475-mismatch01.sip": .badRequest(.invalid("CSeq method INVITE does not match request method OPTIONS")),
        "rfc4475-mismatch02.sip": .badRequest(.invalid("CSeq method INVITE does not match request method NEWMETHOD")),
        "rfc4475-bigcode.sip": .drop(.invalid("bad status code")),               // a response
        // RFC 4475 §3.3 (application layer) that a UAS refuses.
        "rfc4475-insuf.sip": .badRequest(.missingHeader("From")),
        "rfc4475-unkscm.sip": .badRequest(.invalid("unsupported request-URI scheme nobodyKnowsThisScheme")),
        "rfc4475-novelsc.sip": .badRequest(.unparseable("malformed request line")),  // libosip2 refuses soap.beep://
        "rfc4475-multi01.sip": .badRequest(.invalid("more than one CSeq header")),
        "rfc4475-mcl01.sip": .badRequest(.invalid("more than one Content-Length header")),
        // RFC-valid messages we still refuse (see the report / README of the fixtures):
        "rfc4475-inv2543.sip": .badRequest(.missingHeader("Max-Forwards")),     // §3.4.1: RFC 2543 syntax, no Max-Forwards
        "rfc4475-intmeth.sip": .badRequest(.unparseable("malformed To header")),  // §3.1.1.2: escaped NUL defeats libosip2's C strings
        "rfc4475-test.sip": .drop(.unparseable("malformed request line")),      // in the RFC archive, referenced by no section
        // RFC 5118 §4.2.
        "rfc5118-ipv6-bad.sip": .badRequest(.invalid("IPv6 reference in request-URI is not bracketed")),
        // Our own.
        "invite-missing-max-forwards.sip": .badRequest(.missingHeader("Max-Forwards")),
        "invite-missing-call-id.sip": .badRequest(.missingHeader("Call-ID")),
        "invite-missing-via.sip": .drop(.missingHeader("Via")),
        "invite-cseq-method-mismatch.sip": .badRequest(.invalid("CSeq method BYE does not match request method INVITE")),
        "invite-cseq-too-large.sip": .badRequest(.invalid("bad CSeq number")),
        "invite-cseq-not-numeric.sip": .badRequest(.invalid("bad CSeq number")),
        "invite-bad-via-port.sip": .drop(.invalid("unusable top Via")),
        "invite-ipv6-unbracketed-via.sip": .drop(.invalid("unusable top Via")),
        "options-hostless-second-via.sip": .badRequest(.invalid("unusable Via")),  // found by the fuzzer (sip-fixtures/fuzz)
        "message-content-type-param-without-value.sip": .badRequest(.invalid("bad Content-Type")),  // found by the fuzzer
        "register-from-empty-port.sip": .badRequest(.invalid("bad From URI port")),  // found by the fuzzer
        "invite-from-param-empty-value.sip": .badRequest(.invalid("From parameter with an empty value")),  // found by the fuzzer
        "options-accept-param-without-value.sip": .badRequest(.invalid("bad Accept")),  // found by the fuzzer
        "options-from-short-uri-with-dropped-header.sip": .drop(.invalid("bad From URI too short to write back")),  // found by the fuzzer; no 400 can carry its From
        "bye-quoted-via-branch-with-comma.sip": .badRequest(.invalid("Via parameter value is neither a token nor a quoted string")),  // found by the fuzzer (hep)
        "options-nul-before-second-via.sip": .badRequest(.invalid("NUL byte before the body")),  // found by the fuzzer (hep): libosip2 stops at the NUL
        "response-via-param-name-hides-a-via.sip": .drop(.invalid("Via parameter name is not a token")),  // found by the fuzzer (hep): libosip2 writes the name back unquoted, so a second Via appears
        "register-contact-uri-with-angle-bracket.sip": .badRequest(.invalid("bad Contact URI with a space or angle bracket")),  // found by the fuzzer: written back as <rted: >>
        "register-contact-host-angle-bracket.sip": .badRequest(.invalid("bad Contact URI with a space or angle bracket")),  // found by the fuzzer: libosip2 takes the host ">", written back as <sipd:>>
        "message-multipart-part-param-without-value.sip": .badRequest(.invalid("multipart body part libosip2 cannot write")),  // found by the fuzzer: the message did not serialise at all
        "invite-contact-password-bad-escape.sip": .badRequest(.invalid("bad Contact URI password")),  // found by the fuzzer: libosip2 drops %m, writes sip:sim:@h and refuses it
        "options-request-uri-password-bad-escape.sip": .badRequest(.invalid("bad request-URI password")),  // as above, in the request-URI a proxy writes back
        "bye-quoted-via-hides-a-via-in-transport.sip": .badRequest(.invalid("Via transport is not a token")),  // found by the fuzzer: libosip2 took "Ux...;branch=a," as the transport and wrote two Vias back
        "invite-sip3-version.sip": .badRequest(.invalid("unsupported SIP version SIP/3.0")),
        "invite-bad-max-forwards.sip": .badRequest(.invalid("bad Max-Forwards")),
        "response-missing-call-id.sip": .drop(.missingHeader("Call-ID")),
        "response-bad-status.sip": .drop(.invalid("bad status code")),
        "http-request.sip": .drop(.unparseable("malformed request line")),
        "binary-garbage.sip": .drop(.unparseable("malformed request line")),
    ]

    func testTableCoversExactlyTheInvalidFolder() {
        XCTAssertEqual(Set(Fixture.names(in: "invalid")), Set(Self.table.keys))
        XCTAssertEqual(Fixture.names(in: "invalid").filter { $0.hasPrefix("rfc4475-") }.count, 27)
    }

    func testEveryInvalidFixtureIsRefusedAsTabled() {
        for (name, expected) in Self.table.sorted(by: { $0.key < $1.key }) {
            let outcome = SIPMessage.parse(Fixture.invalid(name))
            switch (expected, outcome) {
            case (.badRequest(let want), .badRequest(let message, let got)):
                XCTAssertEqual(got, want, name)
                // A 400 must be routable and carry what the response needs.
                XCTAssertTrue(message.isRequest, name)
                XCTAssertNotNil(message.topVia, name)
            case (.drop(let want), .drop(let got)):
                XCTAssertEqual(got, want, name)
            default:
                XCTFail("\(name): expected \(expected), got \(outcome)")
            }
        }
    }

    /// A 400 built from a recovered request copies what was recoverable and round-trips.
    func testBadRequestsCanBeAnswered() throws {
        for (name, expected) in Self.table {
            guard case .badRequest = expected, case .badRequest(let request, let error) = SIPMessage.parse(Fixture.invalid(name)) else { continue }
            let response = request.makeResponse(status: 400, reason: error.description, toTag: "bj400")
            let wire = response.serialize()
            let text = String(decoding: wire, as: UTF8.self)
            XCTAssertTrue(text.hasPrefix("SIP/2.0 400 "), name)
            // Every Via is copied, the unusable one too (`vias` leaves it out; each fixture has at most one).
            let unusable = error == .invalid("unusable Via") ? 1 : 0
            XCTAssertEqual(text.components(separatedBy: "\r\nVia: ").count - 1, request.vias.count + unusable, name)
            if !request.callID.isEmpty { XCTAssertTrue(text.contains("\r\nCall-ID: \(request.callID)\r\n"), name) }
            // The 400 echoes the request's headers, defects included (a bad CSeq stays bad), so only
            // a request whose defect lies elsewhere must produce a response that parses back.
            let echoesDefect: Bool
            switch error {
            case .missingHeader, .unparseable: echoesDefect = true
            case .invalid(let why): echoesDefect = why.contains("CSeq") || why.contains("Via") || why.contains("version") || why.contains("URI port")
            case .tooLarge: echoesDefect = true
            }
            if !echoesDefect {
                let reparsed = try expectMessage(SIPMessage.parse(wire), "400 for \(name)")
                XCTAssertEqual(reparsed.statusCode, 400, name)
                XCTAssertEqual(reparsed.reasonPhrase, error.description, name)
                XCTAssertEqual(reparsed.topVia, request.topVia, name)
                XCTAssertEqual(reparsed.callID, request.callID, name)
                XCTAssertEqual(reparsed.cseqNumber, request.cseqNumber, name)
                XCTAssertEqual(reparsed.toTag, request.toTag ?? "bj400", name)
            }
        }
    }

    func testRecoveredRequestKeepsMethodAndHidesPlaceholderURI() {
        guard case .badRequest(let request, _) = SIPMessage.parse(Fixture.invalid("rfc4475-lwsstart.sip")) else {
            return XCTFail("lwsstart should be a bad request")
        }
        XCTAssertEqual(request.method, "INVITE")
        XCTAssertNil(request.requestURI)
        XCTAssertEqual(request.callID, "lwsstart.dfknq234oi243099adsdfnawe3@example.com")
        XCTAssertEqual(request.cseqNumber, 1893884)
        XCTAssertEqual(request.fromTag, "8814")
        XCTAssertEqual(request.topVia?.branch, "z9hG4bKkdjuw3923")
    }
}
