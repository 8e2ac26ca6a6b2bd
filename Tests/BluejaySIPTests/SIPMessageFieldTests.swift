import BluejaySIP
import XCTest

final class SIPMessageFieldTests: XCTestCase {
    func testOrdinaryInviteFields() throws {
        let m = try Fixture.message("invite-sdp-xheaders.sip")
        XCTAssertTrue(m.isRequest)
        XCTAssertEqual(m.method, "INVITE")
        XCTAssertEqual(m.statusCode, 0)
        XCTAssertEqual(m.requestURI, "sip:agent@sidecar.example.com")
        XCTAssertEqual(m.callID, "sim-call-1@198.51.100.10")
        XCTAssertEqual(m.cseqNumber, 1)
        XCTAssertEqual(m.cseqMethod, "INVITE")
        XCTAssertEqual(m.fromTag, "1928301774")
        XCTAssertNil(m.toTag)
        XCTAssertEqual(m.fromHeader, "\"Simulator\" <sip:sim@tester.example.org>;tag=1928301774")
        XCTAssertEqual(m.toHeader, "\"Voice Agent\" <sip:agent@sidecar.example.com>")
        XCTAssertEqual(m.fromURI, "sip:sim@tester.example.org")
        XCTAssertEqual(m.toURI, "sip:agent@sidecar.example.com")
        XCTAssertEqual(m.fromDisplayName, "Simulator")
        XCTAssertEqual(m.maxForwards, 70)
        XCTAssertEqual(m.contactURI, "sip:sim@198.51.100.10:5060")
        XCTAssertEqual(m.contentType, "application/sdp")
        XCTAssertEqual(m.topVia, SIPVia(transport: "UDP", host: "198.51.100.10", port: 5060, branch: "z9hG4bK776asdhds", rport: .requested))
        let body = String(decoding: m.body, as: UTF8.self)
        XCTAssertTrue(body.hasPrefix("v=0\r\n"))
        XCTAssertTrue(body.contains("m=video 51372 RTP/AVP 96 97\r\n"))
        XCTAssertEqual(m.body.count, Int(m.headerValues("Content-Length").first ?? "") ?? -1)
    }

    func testExtensionHeadersKeepSpellingAndOrder() throws {
        let m = try Fixture.message("invite-sdp-xheaders.sip")
        let names = m.extensionHeaders.map(\.name)
        XCTAssertEqual(names, ["Max-Forwards", "X-Simulation-Result-Id", "X-Agent-Id", "x-scenario", "X-Empty", "User-Agent"])
        XCTAssertEqual(m.extensionHeaders.first { $0.name == "User-Agent" }?.value, "BluejaySim/1.0")
        XCTAssertEqual(m.headerValues("user-agent"), ["BluejaySim/1.0"])
        XCTAssertEqual(m.headerValues("X-SCENARIO"), ["refund-request"])
        XCTAssertEqual(m.headerValues("x-empty"), [""])
        XCTAssertEqual(m.headerValues("Call-ID"), ["sim-call-1@198.51.100.10"], "known headers are searchable too")
        XCTAssertEqual(m.headerValues("X-Missing"), [])
    }

    func testXHeadersAreAllXDashHeadersInOrder() throws {
        let m = try Fixture.message("invite-sdp-xheaders.sip")
        XCTAssertEqual(m.xHeaders.map(\.name), ["X-Simulation-Result-Id", "X-Agent-Id", "x-scenario", "X-Empty"])
        XCTAssertEqual(m.xHeaders.map(\.value), ["7f3c2a9e-5b1d-4c8e-9f20-1a2b3c4d5e6f", "agent-42", "refund-request", ""])
    }

    func testCompactHeaders() throws {
        let m = try Fixture.message("invite-compact-headers.sip")
        XCTAssertEqual(m.topVia?.transport, "TCP")
        XCTAssertEqual(m.topVia?.port, 5070)
        XCTAssertEqual(m.fromTag, "abc123")
        XCTAssertEqual(m.toURI, "sip:agent@sidecar.example.com")
        XCTAssertEqual(m.callID, "compact-1@198.51.100.20")
        XCTAssertEqual(m.contactURI, "sip:sim@198.51.100.20:5070;transport=tcp")
        XCTAssertEqual(m.contentType, "application/sdp")
        XCTAssertEqual(m.supported, ["timer"])
        XCTAssertEqual(m.sessionExpires?.seconds, 600)
        XCTAssertEqual(m.sessionExpires?.refresher, "uas")
        XCTAssertEqual(m.headerValues("Session-Expires"), ["600;refresher=uas"])
        XCTAssertEqual(m.headerValues("l"), m.headerValues("Content-Length"))
        XCTAssertEqual(m.simulationResultID, "compact-sim-1")
        XCTAssertEqual(m.body.count, 178)
    }

    func testResponseFields() throws {
        let m = try Fixture.message("response-200-invite.sip")
        XCTAssertFalse(m.isRequest)
        XCTAssertEqual(m.statusCode, 200)
        XCTAssertEqual(m.reasonPhrase, "OK")
        XCTAssertEqual(m.method, "INVITE", "a response's method is its CSeq method")
        XCTAssertNil(m.requestURI)
        XCTAssertNil(m.maxForwards)
        XCTAssertEqual(m.toTag, "r-991")
        XCTAssertEqual(m.topVia?.received, "203.0.113.5")
    }

    func testTortuousInviteFromRFC4475() throws {
        let m = try Fixture.message("rfc4475-wsinv.sip")
        XCTAssertEqual(m.method, "INVITE")
        XCTAssertEqual(m.requestURI, "sip:vivekg@chair-dnrc.example.com;unknownparam")
        XCTAssertEqual(m.cseqNumber, 9)
        XCTAssertEqual(m.toTag, "1918181833n")
        XCTAssertEqual(m.fromTag, "98asjd8")
        XCTAssertEqual(m.maxForwards, 68)
        XCTAssertEqual(m.vias.map(\.host), ["192.0.2.2", "spindle.example.com", "192.168.255.111"])
        XCTAssertEqual(m.vias.map(\.transport), ["UDP", "TCP", "UDP"])
        XCTAssertEqual(m.vias[2].branch, "z9hG4bK30239")
        XCTAssertEqual(m.headerValues("NewFangledHeader"), ["newfangled value continued newfangled value"])
        XCTAssertEqual(m.headerValues("UnknownHeaderWithUnusualValue"), [";;,,;;,;"])
        XCTAssertEqual(m.body.count, 150)
    }

    func testMultipartBodyGivesFirstPart() throws {
        let m = try Fixture.message("rfc4475-mpart01.sip")
        XCTAssertEqual(m.contentType, "multipart/mixed")
        // libosip2 splits the parts; the first one is the text/plain "Hello".
        XCTAssertTrue(String(decoding: m.body, as: UTF8.self).contains("Hello"))
    }

    func testDatagramTrailingOctetsAreIgnored() throws {
        let m = try Fixture.message("rfc4475-dblreq.sip")
        XCTAssertEqual(m.method, "REGISTER")
        XCTAssertEqual(m.body, [])
    }

    func testIPv6Fields() throws {
        let m = try Fixture.message("invite-ipv6.sip")
        XCTAssertEqual(m.requestURI, "sip:agent@[2001:db8::5]:5060")
        XCTAssertEqual(m.topVia, SIPVia(transport: "UDP", host: "2001:db8::10", port: 5062, branch: "z9hG4bKv6inv", rport: .requested))
        XCTAssertEqual(m.contactURI, "sip:sim@[2001:db8::10]:5062")
        XCTAssertEqual(m.callID, "v6-call-1@[2001:db8::10]")

        let mixed = try Fixture.message("rfc5118-mult-ip-in-header.sip")
        XCTAssertEqual(mixed.vias.map(\.host), ["2001:db8::9:1", "192.0.2.1", "2001:db8::9:255"])
        XCTAssertEqual(mixed.vias[0].port, 6050)
        XCTAssertEqual(mixed.vias[2].received, "192.0.2.200")

        let withDelim = try Fixture.message("rfc5118-via-received-param-with-delim.sip")
        let noDelim = try Fixture.message("rfc5118-via-received-param-no-delim.sip")
        XCTAssertEqual(withDelim.topVia?.received, "2001:db8::9:255")
        XCTAssertEqual(noDelim.topVia?.received, "2001:db8::9:255")

        let mapped = try Fixture.message("rfc5118-ipv4-mapped-ipv6.sip")
        XCTAssertEqual(mapped.topVia?.host, "::ffff:192.0.2.10")
        XCTAssertEqual(mapped.topVia?.port, 19823)

        // RFC 5118 §4.3: everything inside the brackets is the address; no port.
        let ambiguous = try Fixture.message("rfc5118-port-ambiguous.sip")
        XCTAssertEqual(ambiguous.requestURI, "sip:[2001:db8::10:5070]")
        let unambiguous = try Fixture.message("rfc5118-port-unambiguous.sip")
        XCTAssertEqual(unambiguous.requestURI, "sip:[2001:db8::10]:5070")
    }

    func testViaParameters() throws {
        let m = try expectMessage(SIPMessage.parse(sip("""
        OPTIONS sip:a@b.example SIP/2.0
        Via: SIP/2.0/tls h.example:5061;branch=z9hG4bKx;received=192.0.2.1;rport=4000;maddr=224.2.0.1;ttl=16
        Via: SIP/2.0/UDP second.example;branch=z9hG4bKy
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>
        Call-ID: via-params
        CSeq: 1 OPTIONS
        Content-Length: 0


        """)))
        XCTAssertEqual(m.topVia, SIPVia(transport: "TLS", host: "h.example", port: 5061, branch: "z9hG4bKx",
                                        received: "192.0.2.1", rport: .value(4000), maddr: "224.2.0.1", ttl: 16))
        XCTAssertEqual(m.vias.count, 2)
        XCTAssertEqual(m.vias[1].rport, .absent)
    }

    func testTelRequestURI() throws {
        let m = try Fixture.message("invite-tel-uri.sip")
        XCTAssertEqual(m.requestURI, "tel:+15551234567")
        XCTAssertEqual(m.toURI, "tel:+15551234567")
    }

    func testParseErrorDescriptions() {
        XCTAssertEqual(SIPParseError.tooLarge(70000).description, "message too large (70000 bytes)")
        XCTAssertEqual(SIPParseError.missingHeader("Via").description, "missing Via header")
        XCTAssertEqual(SIPParseError.invalid("x").description, "invalid: x")
        XCTAssertEqual(SIPParseError.unparseable("y").description, "unparseable: y")
    }
}
