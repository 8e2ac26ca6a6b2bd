import BluejaySIP
import XCTest

/// The §16 editing API: copies of a parsed message changed with libosip2.
final class ProxyEditingTests: XCTestCase {
    private static let invite = [
        "INVITE sip:agent@192.0.2.1:5060 SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-c1;rport",
        "Max-Forwards: 70",
        "Route: <sip:192.0.2.1:5060;lr>, <sip:198.51.100.7;transport=tcp;lr>",
        "From: \"Caller\" <sip:caller@192.0.2.10>;tag=ft1",
        "To: <sip:agent@192.0.2.1>",
        "Call-ID: c1@test",
        "CSeq: 7 INVITE",
        "Contact: <sip:caller@192.0.2.10:5070;transport=udp>",
        "X-Simulation-Result-Id: sim-42",
        "Content-Type: application/sdp",
        "Content-Length: 4",
        "",
        "v=0\n",
    ].joined(separator: "\r\n")

    private func parse(_ text: String) throws -> SIPMessage {
        try expectMessage(SIPMessage.parse(Array(text.utf8)))
    }

    func testAccessors() throws {
        let m = try parse(Self.invite)
        XCTAssertEqual(m.routes.map(\.host), ["192.0.2.1", "198.51.100.7"])
        XCTAssertEqual(m.routes[0].port, 5060)
        XCTAssertTrue(m.routes[0].lr)
        XCTAssertEqual(m.routes[1].transport, "tcp")
        XCTAssertEqual(m.requestURIParts?.host, "192.0.2.1")
        XCTAssertEqual(m.requestURIParts?.user, "agent")
        XCTAssertEqual(m.contactURIParts?.port, 5070)
        XCTAssertEqual(m.contactURIParts?.transport, "udp")
        XCTAssertEqual(SIPURIParts.parse("sip:127.0.0.1:5080;transport=TCP")?.transport, "tcp")
        XCTAssertEqual(SIPURIParts.parse("sip:[::1]:5080")?.host, "::1")
        XCTAssertTrue(SIPURIParts.parse("sip:[::1]:5080")!.hasNumericHost)
        XCTAssertFalse(SIPURIParts.parse("sip:pbx.example.com")!.hasNumericHost)
    }

    func testForwardedAddsViaDecrementsMaxForwardsRecordRoutesAndRemovesOurRoute() throws {
        let m = try parse(Self.invite)
        let out = m.forwarded(via: SIPVia(transport: "TCP", host: "192.0.2.1", port: 5060, branch: "z9hG4bKout"),
                              received: "203.0.113.5", rport: 40000,
                              recordRoutes: ["sip:192.0.2.1:5060;transport=tcp;lr", "sip:192.0.2.1:5060;transport=udp;lr"],
                              removeTopRoute: { $0.host == "192.0.2.1" && $0.port == 5060 })
        let reparsed = try expectMessage(SIPMessage.parse(out.serialize()))
        for message in [out, reparsed] {
            XCTAssertEqual(message.vias.count, 2)
            XCTAssertEqual(message.topVia?.transport, "TCP")
            XCTAssertEqual(message.topVia?.branch, "z9hG4bKout")
            XCTAssertEqual(message.vias[1].received, "203.0.113.5")
            XCTAssertEqual(message.vias[1].rport, .value(40000))
            XCTAssertEqual(message.maxForwards, 69)
            XCTAssertEqual(message.routes.map(\.host), ["198.51.100.7"])
            XCTAssertEqual(message.recordRoutes.map { $0.transport ?? "" }, ["tcp", "udp"])
            XCTAssertTrue(message.recordRoutes.allSatisfy(\.lr))
            XCTAssertEqual(message.simulationResultID, "sim-42")
            XCTAssertEqual(message.body, Array("v=0\n".utf8))
        }
        let text = String(decoding: out.serialize(), as: UTF8.self)
        XCTAssertTrue(text.contains("X-Simulation-Result-Id: sim-42"), text)
        // The original is untouched.
        XCTAssertEqual(m.vias.count, 1)
        XCTAssertEqual(m.maxForwards, 70)
    }

    func testRequestURIReplacementAndRemovingTopVia() throws {
        let m = try parse(Self.invite)
        let out = m.forwarded(via: SIPVia(transport: "UDP", host: "192.0.2.1", port: 5060, branch: "z9hG4bKx"),
                              decrementMaxForwards: false, requestURI: "sip:agent@198.51.100.9:5080")
        XCTAssertEqual(out.requestURIParts?.port, 5080)
        XCTAssertEqual(out.maxForwards, 70)
        let stripped = out.removingTopVia()
        XCTAssertEqual(stripped.vias.map(\.branch), ["z9hG4bK-c1"])
    }

    func testAckAndCancelForForwardedInvite() throws {
        let m = try parse(Self.invite).forwarded(via: SIPVia(transport: "UDP", host: "192.0.2.1", port: 5060, branch: "z9hG4bKout"))
        let busy = m.makeResponse(status: 486, toTag: "tt9")
        let ack = m.ackForNon2xx(response: busy)
        let cancel = m.cancelRequest()
        for (request, method) in [(ack, "ACK"), (cancel, "CANCEL")] {
            let reparsed = try expectMessage(SIPMessage.parse(request.serialize()))
            XCTAssertEqual(reparsed.method, method)
            XCTAssertEqual(reparsed.cseqMethod, method)
            XCTAssertEqual(reparsed.cseqNumber, 7)
            XCTAssertEqual(reparsed.vias.map(\.branch), ["z9hG4bKout"])
            XCTAssertEqual(reparsed.requestURI, m.requestURI)
            XCTAssertEqual(reparsed.callID, "c1@test")
            XCTAssertEqual(reparsed.fromTag, "ft1")
            XCTAssertEqual(reparsed.routes.count, 2)
            XCTAssertEqual(reparsed.maxForwards, 70)
            XCTAssertTrue(reparsed.body.isEmpty)
        }
        XCTAssertEqual(ack.toTag, "tt9")
        XCTAssertNil(cancel.toTag)
    }
}
