import BluejayCalls
import BluejaySIP
import BluejayStore
import Logging
import XCTest

/// The sidecar ending calls itself (BYE to the caller), and answering a restored call's retransmitted INVITE.
final class UserAgentServerHangUpTests: XCTestCase {
    var env: FakeEnvironment!
    var registry: CallRegistry!
    var uas: UserAgentServer!
    let udpPeer = SIPPeer(transport: .udp, host: "192.0.2.10", port: 5062, channelID: 1, localPort: 5060)

    override func setUp() {
        env = FakeEnvironment()
        registry = CallRegistry()
        uas = UserAgentServer(config: UASConfig(), registry: registry, environment: env, logger: Logger(label: "test"))
    }

    private func answeredAndAcked() -> String {
        uas.receive(SIPText.invite(extra: ["X-Simulation-Result-Id: sim-1", "Record-Route: <sip:192.0.2.99;lr>"]), from: udpPeer)
        let tag = env.drain().last!.toTag!
        uas.receive(SIPText.request("ACK", toTag: tag), from: udpPeer)
        return tag
    }

    func testEndingACallSendsAByeRetransmittedUntilAnswered() throws {
        let tag = answeredAndAcked()
        XCTAssertTrue(uas.endCall("call-1@test", by: "system", reason: "max_call_duration"))
        let bye = try XCTUnwrap(env.sent.last)
        XCTAssertEqual(bye.message.method, "BYE")
        XCTAssertEqual(bye.message.requestURI, "sip:caller@192.0.2.10:5060", "to the caller's Contact")
        XCTAssertEqual(bye.message.headerValues("Route"), ["<sip:192.0.2.99;lr>"])
        XCTAssertEqual(bye.message.fromTag, tag, "From carries our tag")
        XCTAssertEqual(bye.message.toTag, "ft1", "To carries the caller's tag")
        XCTAssertEqual(bye.destination.host, "192.0.2.10")
        XCTAssertEqual(bye.destination.port, 5062, "over the flow the INVITE came on")
        XCTAssertEqual(env.persisted.last?.endReason, "max_call_duration")

        env.advance(500)
        XCTAssertEqual(env.sent.filter { $0.parsed?.method == "BYE" }.count, 2, "retransmitted at T1")
        let branch = try XCTUnwrap(bye.message.topVia?.branch)
        let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=\(branch)\r\nFrom: <sip:agent@x>;tag=\(tag)\r\n"
            + "To: <sip:caller@y>;tag=ft1\r\nCall-ID: call-1@test\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
        uas.receive(Array(ok.utf8), from: udpPeer)
        let sentBefore = env.sent.count
        env.advance(10_000)
        XCTAssertEqual(env.sent.count, sentBefore, "answered: no more retransmissions")
    }

    func testSessionNobodyRefreshesEndsWithAByeMarkedSessionExpired() throws {
        uas.receive(SIPText.request("INVITE", extra: ["Session-Expires: 90;refresher=uac", "Supported: timer", "X-Simulation-Result-Id: s"],
                                    body: SIPText.sdp), from: udpPeer)
        let tag = env.drain().last!.toTag!
        uas.receive(SIPText.request("ACK", toTag: tag), from: udpPeer)
        env.advance(61_000) // 90 s - min(32 s, 90/3 s) = 60 s without a refresh (RFC 4028 §10)
        let bye = try XCTUnwrap(env.sent.last?.parsed)
        XCTAssertEqual(bye.method, "BYE")
        XCTAssertEqual(bye.headerValues("Reason"), ["SIP;text=\"session_expired\""])
        XCTAssertEqual(env.persisted.last?.endReason, "session_expired")
        XCTAssertEqual(registry.entry("call-1@test")?.state, .ended)
    }

    func testNoByeBeforeTheAck() {
        uas.receive(SIPText.invite(), from: udpPeer)
        env.drain()
        XCTAssertTrue(uas.endCall("call-1@test", by: "system", reason: "max_call_duration"))
        XCTAssertFalse(env.sent.contains { $0.parsed?.method == "BYE" }, "RFC 3261 §15: no BYE before the ACK")
    }

    func testRestoredCallAnswersItsRetransmittedInviteWithTheSameTag() {
        let stored = StoredCall(callID: "call-1@test", simulationResultID: "sim-1", fromHeader: "<sip:caller@192.0.2.10>;tag=ft1",
                                toHeader: "<sip:agent@198.51.100.1>;tag=ours", localTag: "ours", remoteTag: "ft1",
                                invitedAtMs: 0, answeredAtMs: 1, state: .active, sipHeadersJSON: Array("{}".utf8))
        uas.restore([stored])
        uas.receive(SIPText.invite(), from: udpPeer)
        let ok = env.drain().last!
        XCTAssertEqual(ok.statusCode, 200)
        XCTAssertEqual(ok.toTag, "ours")
        XCTAssertEqual(ok.contentType, "application/sdp")
        uas.receive(SIPText.invite(callID: "call-1@test", branch: "z9hG4bK-other", extra: []).replacingFromTag("other"), from: udpPeer)
        XCTAssertEqual(env.statuses.last, 482, "another caller's INVITE with that Call-ID is still a merged request")
    }
}

private extension Array where Element == UInt8 {
    func replacingFromTag(_ tag: String) -> [UInt8] {
        Array(String(decoding: self, as: UTF8.self).replacingOccurrences(of: "tag=ft1", with: "tag=\(tag)").utf8)
    }
}
