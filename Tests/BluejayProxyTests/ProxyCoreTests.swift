import BluejayCalls
import BluejayProxy
import BluejaySIP
import XCTest

final class ProxyCoreTests: XCTestCase {
    var env: FakeProxyEnvironment!
    var proxy: ProxyCore!
    let caller = SIPPeer(transport: .udp, host: "192.0.2.10", port: 5060, channelID: 1, localPort: 5060)
    let upstreamUDP = SIPPeer(transport: .udp, host: "198.51.100.1", port: 5080, channelID: 1, localPort: 5060)
    let upstreamTCP = SIPPeer(transport: .tcp, host: "198.51.100.1", port: 5080, channelID: 7, localPort: 40_000)

    override func setUp() {
        make(upstream: "sip:198.51.100.1:5080")
    }

    private func make(upstream: String) {
        env = FakeProxyEnvironment()
        let config = ProxyConfig(upstream: ProxyUpstream(uri: upstream)!, advertisedHost: "203.0.113.1")
        proxy = ProxyCore(config: config, environment: env)
        env.core = proxy
    }

    /// Sends the caller's INVITE and returns the INVITE as forwarded upstream (the 100 is drained).
    @discardableResult
    private func forwardedInvite(from peer: SIPPeer? = nil, via: String = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c1") -> SIPMessage {
        proxy.receive(ProxyText.invite(via: via), from: peer ?? caller)
        let sent = env.drain()
        XCTAssertEqual(sent.map { $0.message.statusCode }, [100, 0])
        return sent[1].message
    }

    /// The upstream's response to what we forwarded, as the agent's UA would build it.
    private func upstreamResponse(to request: SIPMessage, _ status: Int, toTag: String? = "agent-tag",
                                  contact: String = "<sip:agent@198.51.100.1:5080>") -> [UInt8] {
        request.makeResponse(status: status, toTag: status > 100 ? toTag : nil, headers: [("Contact", contact)]).serialize()
    }

    func testInviteGetsOurViaDecrementedMaxForwardsRecordRouteAnd100() throws {
        proxy.receive(ProxyText.invite(), from: caller)
        XCTAssertEqual(env.methods, ["100", "INVITE"])
        let trying = env.sent[0]
        XCTAssertEqual(trying.destination.host, "192.0.2.10")
        XCTAssertEqual(trying.destination.port, 5060)
        let out = env.sent[1]
        XCTAssertEqual(out.destination.peer.transport, .udp)
        XCTAssertEqual(out.destination.host, "198.51.100.1")
        XCTAssertEqual(out.destination.port, 5080)
        let m = out.message
        XCTAssertEqual(m.vias.count, 2)
        let via = try XCTUnwrap(m.topVia)
        XCTAssertEqual(via.transport, "UDP")
        XCTAssertEqual(via.host, "203.0.113.1")
        XCTAssertEqual(via.port, 5060)
        XCTAssertTrue(via.branch!.hasPrefix("z9hG4bK"))
        XCTAssertEqual(m.vias[1].branch, "z9hG4bK-c1")
        XCTAssertEqual(m.maxForwards, 69)
        XCTAssertEqual(m.recordRoutes.count, 1)
        XCTAssertEqual(m.recordRoutes[0].host, "203.0.113.1")
        XCTAssertEqual(m.recordRoutes[0].port, 5060)
        XCTAssertEqual(m.recordRoutes[0].transport, "udp")
        XCTAssertTrue(m.recordRoutes[0].lr)
        XCTAssertEqual(m.simulationResultID, "sim-1")
        XCTAssertEqual(m.requestURI, "sip:agent@203.0.113.1:5060", "Request-URI untouched")
        XCTAssertEqual(m.body, Array(ProxyText.sdp.utf8), "SDP untouched")
        XCTAssertEqual(env.observed.map(\.side), [.caller])
        XCTAssertEqual(env.generated.map { $0.message.statusCode }, [100])
    }

    func testBranchIsDeterministicAndRetransmittedInviteIsAbsorbed() {
        let first = forwardedInvite()
        proxy.receive(ProxyText.invite(), from: caller)
        XCTAssertEqual(env.methods, ["100"], "retransmission: our 100 again, nothing upstream")
        XCTAssertEqual(proxy.counters.retransmissionsAbsorbed, 1)

        // Another proxy instance with the same id derives the same branch from the same request.
        let firstBranch = first.topVia?.branch
        make(upstream: "sip:198.51.100.1:5080")
        XCTAssertEqual(forwardedInvite().topVia?.branch, firstBranch)
        // A different incoming branch gives a different one.
        proxy.receive(ProxyText.invite(via: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c2"), from: caller)
        XCTAssertNotEqual(env.drain()[1].message.topVia?.branch, firstBranch)
    }

    func testMaxForwardsZeroGets483() {
        proxy.receive(ProxyText.invite(maxForwards: 0), from: caller)
        XCTAssertEqual(env.statuses, [483])
        XCTAssertEqual(env.sent[0].destination.host, "192.0.2.10")
    }

    func testUpstream100IsNotForwardedButRingingAndOKAreWithRportAndReceived() throws {
        let natted = SIPPeer(transport: .udp, host: "192.0.2.99", port: 40_000, channelID: 1, localPort: 5060)
        let out = forwardedInvite(from: natted, via: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c1;rport")
        XCTAssertEqual(out.vias[1].received, "192.0.2.99", "§18.2.1 received on the caller's Via")
        XCTAssertEqual(out.vias[1].rport, .value(40_000))

        proxy.receive(upstreamResponse(to: out, 100), from: upstreamUDP)
        XCTAssertEqual(env.sent.count, 0, "100 Trying is hop-by-hop")

        proxy.receive(upstreamResponse(to: out, 180), from: upstreamUDP)
        proxy.receive(upstreamResponse(to: out, 200), from: upstreamUDP)
        XCTAssertEqual(env.statuses, [180, 200])
        for sent in env.sent {
            XCTAssertEqual(sent.message.vias.count, 1, "our Via stripped")
            XCTAssertEqual(sent.message.topVia?.branch, "z9hG4bK-c1")
            XCTAssertEqual(sent.destination.host, "192.0.2.99")
            XCTAssertEqual(sent.destination.port, 40_000)
        }
        XCTAssertEqual(env.sent[1].message.recordRoutes.map(\.host), ["203.0.113.1"])
        XCTAssertEqual(env.observed.map(\.side), [.caller, .upstream, .upstream, .upstream])

        // A retransmitted 200 from upstream still reaches the caller (the ACK is end-to-end).
        env.drain()
        proxy.receive(upstreamResponse(to: out, 200), from: upstreamUDP)
        XCTAssertEqual(env.statuses, [200])
    }

    func testAckForTwoHundredAndByeFromCallerFollowTheRouteSet() throws {
        let out = forwardedInvite()
        proxy.receive(upstreamResponse(to: out, 200), from: upstreamUDP)
        env.drain()

        let route = "<sip:203.0.113.1:5060;transport=udp;lr>"
        proxy.receive(ProxyText.request("ACK", uri: "sip:agent@198.51.100.1:5080", via: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ack",
                                        to: "<sip:agent@203.0.113.1>;tag=agent-tag", routes: [route]), from: caller)
        XCTAssertEqual(env.methods, ["ACK"])
        let ack = env.sent[0]
        XCTAssertEqual(ack.destination.host, "198.51.100.1")
        XCTAssertEqual(ack.destination.port, 5080)
        XCTAssertEqual(ack.message.routes.count, 0, "our Route removed")
        XCTAssertEqual(ack.message.vias.count, 2)
        XCTAssertNotEqual(ack.message.topVia?.branch, out.topVia?.branch)
        XCTAssertEqual(ack.message.maxForwards, 69)
        env.drain()

        proxy.receive(ProxyText.request("BYE", uri: "sip:agent@198.51.100.1:5080", via: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bye",
                                        cseq: 2, to: "<sip:agent@203.0.113.1>;tag=agent-tag", routes: [route]), from: caller)
        XCTAssertEqual(env.methods, ["BYE"])
        let bye = env.drain()[0].message
        XCTAssertEqual(bye.routes.count, 0)
        XCTAssertTrue(bye.recordRoutes.isEmpty, "no Record-Route on in-dialog requests")
        proxy.receive(bye.makeResponse(status: 200).serialize(), from: upstreamUDP)
        XCTAssertEqual(env.statuses, [200])
        XCTAssertEqual(env.sent[0].destination.host, "192.0.2.10")
        XCTAssertEqual(env.sent[0].message.cseqMethod, "BYE")
    }

    /// The call tracker is shown each request once (an INFO retransmitted while the upstream is slow to answer
    /// is one DTMF, not two) and only responses to what the proxy sent (a stray one the proxy drops ends nothing).
    func testTheTrackerSeesEachTransactionOnceAndNoStrayResponse() throws {
        let out = forwardedInvite()
        proxy.receive(upstreamResponse(to: out, 200), from: upstreamUDP)
        env.drain()
        let route = "<sip:203.0.113.1:5060;transport=udp;lr>"
        let info = ProxyText.request("INFO", uri: "sip:agent@198.51.100.1:5080", via: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-info",
                                     cseq: 2, to: "<sip:agent@203.0.113.1>;tag=agent-tag", routes: [route])
        let before = env.observed.count
        proxy.receive(info, from: caller)
        proxy.receive(info, from: caller)
        XCTAssertEqual(env.observed.count - before, 1, "a retransmission is absorbed before the tracker sees it")
        XCTAssertEqual(env.methods, ["INFO"], "and is not forwarded again")

        let stray = "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 192.0.2.77:5060;branch=z9hG4bK-x\r\nFrom: <sip:caller@192.0.2.10>;tag=ft1\r\n"
            + "To: <sip:agent@203.0.113.1>;tag=agent-tag\r\nCall-ID: call-1@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        proxy.receive(Array(stray.utf8), from: upstreamUDP)
        XCTAssertEqual(env.observed.count - before, 1, "a response not to our Via is not shown")
    }

    func testByeFromUpstreamGoesToCallerContactWithoutOurRoute() throws {
        let out = forwardedInvite()
        proxy.receive(upstreamResponse(to: out, 200), from: upstreamUDP)
        env.drain()

        proxy.receive(ProxyText.request("BYE", uri: "sip:caller@192.0.2.10:5060", via: "SIP/2.0/UDP 198.51.100.1:5080;branch=z9hG4bK-ub",
                                        from: "<sip:agent@203.0.113.1>;tag=agent-tag", to: "\"Caller\" <sip:caller@192.0.2.10>;tag=ft1",
                                        contact: "<sip:agent@198.51.100.1:5080>",
                                        routes: ["<sip:203.0.113.1:5060;transport=udp;lr>"]), from: upstreamUDP)
        XCTAssertEqual(env.observed.last?.side, .upstream)
        XCTAssertEqual(env.methods, ["BYE"])
        let bye = env.sent[0]
        XCTAssertEqual(bye.destination.host, "192.0.2.10")
        XCTAssertEqual(bye.destination.port, 5060)
        XCTAssertEqual(bye.destination.peer.transport, .udp)
        XCTAssertEqual(bye.message.routes.count, 0)
        XCTAssertEqual(bye.message.topVia?.host, "203.0.113.1")
        env.drain()

        proxy.receive(bye.message.makeResponse(status: 200).serialize(), from: caller)
        XCTAssertEqual(env.statuses, [200])
        XCTAssertEqual(env.sent[0].destination.host, "198.51.100.1")
        XCTAssertEqual(env.sent[0].destination.port, 5080)
        XCTAssertEqual(env.sent[0].message.vias.map(\.branch), ["z9hG4bK-ub"])
    }

    func testCancelWhileRingingThen487AndOurAck() throws {
        let out = forwardedInvite()
        proxy.receive(upstreamResponse(to: out, 180), from: upstreamUDP)
        env.drain()

        proxy.receive(ProxyText.request("CANCEL", body: ""), from: caller)
        XCTAssertEqual(env.methods, ["200", "CANCEL"])
        XCTAssertEqual(env.sent[0].message.cseqMethod, "CANCEL")
        XCTAssertEqual(env.sent[0].destination.host, "192.0.2.10")
        let cancel = env.sent[1]
        XCTAssertEqual(cancel.destination.host, "198.51.100.1")
        XCTAssertEqual(cancel.message.topVia?.branch, out.topVia?.branch, "§16.11: the INVITE's branch")
        XCTAssertEqual(cancel.message.vias.count, 1)
        XCTAssertEqual(cancel.message.cseqNumber, out.cseqNumber)
        env.drain()

        proxy.receive(cancel.message.makeResponse(status: 200).serialize(), from: upstreamUDP)
        XCTAssertEqual(env.sent.count, 0, "the 200 to our CANCEL stays here")

        proxy.receive(upstreamResponse(to: out, 487), from: upstreamUDP)
        XCTAssertEqual(env.methods, ["ACK", "487"])
        let ack = env.sent[0].message
        XCTAssertEqual(env.sent[0].destination.host, "198.51.100.1")
        XCTAssertEqual(ack.topVia?.branch, out.topVia?.branch)
        XCTAssertEqual(ack.toTag, "agent-tag")
        XCTAssertEqual(ack.cseqMethod, "ACK")
        XCTAssertEqual(env.sent[1].destination.host, "192.0.2.10")
        XCTAssertEqual(env.sent[1].message.vias.count, 1)
        env.drain()

        // The caller's ACK for the 487 is hop-by-hop: absorbed.
        proxy.receive(ProxyText.request("ACK", cseqMethod: "ACK", to: "<sip:agent@203.0.113.1>;tag=agent-tag"), from: caller)
        XCTAssertEqual(env.sent.count, 0)
        // A retransmitted 487 is ACKed again, not relayed again.
        proxy.receive(upstreamResponse(to: out, 487), from: upstreamUDP)
        XCTAssertEqual(env.methods, ["ACK"])
        env.drain()
        env.advance(40_000)
        XCTAssertEqual(env.sent.count, 0, "Timer G stopped by the ACK")
        XCTAssertEqual(proxy.transactionCount, 0, "transactions forgotten after 64·T1")
    }

    func testCancelBeforeAnyProvisionalWaitsForIt() {
        let out = forwardedInvite()
        proxy.receive(ProxyText.request("CANCEL"), from: caller)
        XCTAssertEqual(env.methods, ["200"])
        env.drain()
        proxy.receive(upstreamResponse(to: out, 100), from: upstreamUDP)
        XCTAssertEqual(env.methods, ["CANCEL"])
    }

    func testTimerBOverUDPAnswers408AfterRetransmissions() {
        forwardedInvite()
        env.advance(31_999)
        XCTAssertEqual(env.methods, Array(repeating: "INVITE", count: 6), "Timer A: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s")
        env.drain()
        env.advance(1)
        XCTAssertEqual(env.statuses, [408])
        XCTAssertEqual(env.sent[0].destination.host, "192.0.2.10")
        XCTAssertNotNil(env.sent[0].message.toTag)
        XCTAssertEqual(proxy.counters.timeouts, 1)
    }

    func testProvisionalStopsRetransmissionsAndTimerB() {
        let out = forwardedInvite()
        proxy.receive(upstreamResponse(to: out, 100), from: upstreamUDP)
        env.advance(60_000)
        XCTAssertEqual(env.sent.count, 0)
    }

    /// Timer C restarts at each provisional above 100 (§16.7 step 2): a call still ringing after 3 minutes, its
    /// 180s and 183s coming, is not cancelled; one the upstream went silent on is, 3 minutes after the last.
    func testTimerCRestartsAtEachProvisionalAbove100() {
        let out = forwardedInvite()
        proxy.receive(upstreamResponse(to: out, 100), from: upstreamUDP)
        env.advance(100_000)
        proxy.receive(upstreamResponse(to: out, 180), from: upstreamUDP)
        env.advance(100_000)
        proxy.receive(upstreamResponse(to: out, 183), from: upstreamUDP)
        env.advance(179_999)
        XCTAssertEqual(env.statuses, [180, 183], "still ringing: no CANCEL, no 408")
        XCTAssertEqual(proxy.counters.timeouts, 0)
        env.drain()
        env.advance(1)
        XCTAssertEqual(env.methods, ["CANCEL", "408"])
        XCTAssertEqual(proxy.counters.timeouts, 1)
    }

    func testNonInviteTimeoutIs408() {
        proxy.receive(ProxyText.request("OPTIONS"), from: caller)
        XCTAssertEqual(env.methods, ["OPTIONS"], "no 100 for non-INVITE")
        env.drain()
        env.advance(32_000)
        XCTAssertEqual(env.statuses.filter { $0 == 0 }.count, 10, "Timer E: capped at T2")
        XCTAssertEqual(env.statuses.last, 408)
    }

    func testSendFailureAnswers503() {
        env.unreachable = ["198.51.100.1"]
        proxy.receive(ProxyText.invite(), from: caller)
        XCTAssertEqual(env.methods, ["100", "INVITE", "503"])
        XCTAssertEqual(env.sent[2].destination.host, "192.0.2.10")
        env.drain()
        // The caller's ACK for the 503 is absorbed, and stops Timer G.
        proxy.receive(ProxyText.request("ACK", cseqMethod: "ACK"), from: caller)
        XCTAssertEqual(env.sent.count, 0)
        env.advance(40_000)
        XCTAssertEqual(env.sent.count, 0, "no retransmission after the failure")
    }

    func testUDPInTCPOutUsesTCPViaAndDoubleRecordRoute() throws {
        make(upstream: "sip:198.51.100.1:5080;transport=tcp")
        proxy.receive(ProxyText.invite(), from: caller)
        let out = env.drain()[1]
        XCTAssertEqual(out.destination.peer.transport, .tcp)
        XCTAssertEqual(out.destination.peer.channelID, 0, "no connection yet: the environment opens one")
        XCTAssertEqual(out.message.topVia?.transport, "TCP")
        XCTAssertEqual(out.message.recordRoutes.map { $0.transport ?? "" }, ["tcp", "udp"], "RFC 5658: upstream-facing on top")

        env.advance(10_000)
        XCTAssertEqual(env.sent.count, 0, "no Timer A over TCP")

        proxy.receive(upstreamResponse(to: out.message, 200, contact: "<sip:agent@198.51.100.1:5080;transport=tcp>"), from: upstreamTCP)
        XCTAssertEqual(env.statuses, [200])
        XCTAssertEqual(env.sent[0].destination.peer.transport, .udp)
        XCTAssertEqual(env.sent[0].destination.host, "192.0.2.10")
        env.drain()

        // The caller's BYE names both of our Routes; both go, and the BYE rides the connection the 200 came on.
        proxy.receive(ProxyText.request("BYE", uri: "sip:agent@198.51.100.1:5080;transport=tcp",
                                        via: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bye", cseq: 2,
                                        to: "<sip:agent@203.0.113.1>;tag=agent-tag",
                                        routes: ["<sip:203.0.113.1:5060;transport=udp;lr>", "<sip:203.0.113.1:5060;transport=tcp;lr>"]),
                      from: caller)
        XCTAssertEqual(env.methods, ["BYE"])
        XCTAssertEqual(env.sent[0].destination.peer.transport, .tcp)
        XCTAssertEqual(env.sent[0].destination.peer.channelID, 7)
        XCTAssertEqual(env.sent[0].message.routes.count, 0)
        XCTAssertEqual(env.sent[0].message.topVia?.transport, "TCP")
        env.drain()

        // A BYE from the agent over its TCP connection goes to the caller over UDP.
        proxy.receive(ProxyText.request("BYE", uri: "sip:caller@192.0.2.10:5060", via: "SIP/2.0/TCP 198.51.100.1:5080;branch=z9hG4bK-ub",
                                        cseq: 3, from: "<sip:agent@203.0.113.1>;tag=agent-tag",
                                        to: "\"Caller\" <sip:caller@192.0.2.10>;tag=ft1",
                                        routes: ["<sip:203.0.113.1:5060;transport=tcp;lr>", "<sip:203.0.113.1:5060;transport=udp;lr>"]),
                      from: upstreamTCP)
        XCTAssertEqual(env.methods, ["BYE"])
        XCTAssertEqual(env.sent[0].destination.peer.transport, .udp)
        XCTAssertEqual(env.sent[0].message.topVia?.transport, "UDP")
        let bye = env.drain()[0].message
        proxy.receive(bye.makeResponse(status: 200).serialize(), from: caller)
        XCTAssertEqual(env.statuses, [200])
        XCTAssertEqual(env.sent[0].destination.peer.channelID, 7, "response back on the agent's connection")
    }

    func testStrayResponseIsDroppedAndUnroutableUpstreamRequestGets503() {
        let stray = ProxyText.request("INVITE").withUnsafeBytes { _ in
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        }
        proxy.receive(Array(stray.utf8), from: upstreamUDP)
        XCTAssertEqual(env.sent.count, 0)
        XCTAssertEqual(proxy.counters.dropped, 1)

        proxy.receive(ProxyText.request("INVITE", uri: "sip:+15550100@trunk.example.com",
                                        via: "SIP/2.0/UDP 198.51.100.1:5080;branch=z9hG4bK-out"), from: upstreamUDP)
        XCTAssertEqual(env.statuses, [100, 503])
        XCTAssertEqual(env.sent[1].destination.host, "198.51.100.1")
    }

    /// The agent dials out over a TCP connection it opened itself, from an ephemeral port: its INVITE is still the
    /// upstream's (its Via names the upstream's address), so it goes where its Request-URI says, not back upstream.
    func testInviteOverTheAgentsOwnConnectionIsTheUpstreams() {
        make(upstream: "sip:198.51.100.1:5080;transport=tcp")
        let agentsOwn = SIPPeer(transport: .tcp, host: "198.51.100.1", port: 40_001, channelID: 9, localPort: 5060)
        proxy.receive(ProxyText.request("INVITE", uri: "sip:+15550100@192.0.2.50:5062",
                                        via: "SIP/2.0/TCP 198.51.100.1:5080;branch=z9hG4bK-own"), from: agentsOwn)
        XCTAssertEqual(env.methods, ["100", "INVITE"])
        XCTAssertEqual(env.sent[1].destination.host, "192.0.2.50")
        XCTAssertEqual(env.sent[1].destination.port, 5062)
        XCTAssertEqual(env.observed.last?.side, .upstream)
        // A caller on the same host (another port in its Via) is a caller.
        env.drain()
        proxy.receive(ProxyText.request("INVITE", uri: "sip:agent@203.0.113.1:5060", callID: "call-2@test",
                                        via: "SIP/2.0/TCP 198.51.100.1:6000;branch=z9hG4bK-c9"), from: agentsOwn)
        XCTAssertEqual(env.sent[1].destination.port, 5080, "a caller's INVITE goes upstream")
    }

    func testInviteFromUpstreamIsRoutedByRequestURI() {
        proxy.receive(ProxyText.request("INVITE", uri: "sip:+15550100@192.0.2.50:5062",
                                        via: "SIP/2.0/UDP 198.51.100.1:5080;branch=z9hG4bK-out"), from: upstreamUDP)
        XCTAssertEqual(env.methods, ["100", "INVITE"])
        XCTAssertEqual(env.sent[1].destination.host, "192.0.2.50")
        XCTAssertEqual(env.sent[1].destination.port, 5062)
        XCTAssertEqual(env.sent[1].message.recordRoutes.count, 1)
    }
}
