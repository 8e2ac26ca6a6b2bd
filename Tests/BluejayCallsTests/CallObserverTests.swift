import BluejayCalls
import BluejaySIP
import BluejayStore
import Logging
import XCTest

/// Modes proxy and mirror follow calls from what they see. A final response that asks the caller to try again
/// is not the end of the call, a CANCEL is not either (its 487 is), and a call left ringing does not stay.
final class CallObserverTests: XCTestCase {
    private var env: FakeEnvironment!
    private var registry: CallRegistry!
    private var observer: CallObserver!

    override func setUp() {
        env = FakeEnvironment()
        registry = CallRegistry()
        observer = CallObserver(config: UASConfig(), registry: registry, environment: env, logger: Logger(label: "test"))
    }

    private func see(_ bytes: [UInt8]) {
        guard case .message(let m) = SIPMessage.parse(bytes) else { return XCTFail("does not parse") }
        observer.observe(m)
    }

    private func invite(cseq: Int) -> [UInt8] {
        SIPText.request("INVITE", branch: "z9hG4bK-inv\(cseq)", cseq: cseq, extra: ["X-Simulation-Result-Id: sim-1"],
                        body: SIPText.sdp)
    }

    private func response(_ status: Int, cseq: Int, method: String = "INVITE") -> [UInt8] {
        let lines = [
            "SIP/2.0 \(status) Whatever",
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv\(cseq)",
            "From: \"Caller\" <sip:caller@192.0.2.10>;tag=ft1",
            "To: <sip:agent@198.51.100.1>;tag=agent-tag",
            "Call-ID: call-1@test",
            "CSeq: \(cseq) \(method)",
            "Content-Length: 0",
        ]
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    private func info(cseq: Int, digit: String, viaHost: String = "192.0.2.10") -> [UInt8] {
        let text = String(decoding: SIPText.request("INFO", branch: "z9hG4bK-info\(cseq)", cseq: cseq, toTag: "agent-tag",
                                                    viaHost: viaHost, body: "Signal=\(digit)\r\nDuration=160\r\n"), as: UTF8.self)
        return Array(text.replacingOccurrences(of: "Content-Type: application/sdp", with: "Content-Type: application/dtmf-relay").utf8)
    }

    private var state: CallEntry.State? { registry.entry("call-1@test")?.state }
    private var lastStored: StoredCall? { env.persisted.last }

    /// RFC 3261 §22.2: 407, ACK, the same call again with credentials and a higher CSeq; its 200 answers the call.
    func testAChallengedInviteRetriedWithCredentialsIsTheCall() {
        see(invite(cseq: 1))
        see(response(407, cseq: 1))
        observer.sweep()
        XCTAssertEqual(state, .ringing, "a challenge is not the end of the call")
        see(SIPText.request("ACK", branch: "z9hG4bK-inv1", cseq: 1, toTag: "agent-tag"))
        see(invite(cseq: 2))
        see(response(200, cseq: 2))
        XCTAssertEqual(state, .active)
        env.advance(60_000)
        observer.sweep()
        XCTAssertEqual(state, .active, "the challenge's deadline does not end the retried call")
        see(SIPText.request("BYE", branch: "z9hG4bK-bye", cseq: 3, toTag: "agent-tag"))
        XCTAssertEqual(state, .ended)
        XCTAssertEqual(lastStored?.endReason, "bye")
        XCTAssertEqual(env.ended, ["call-1@test"])
    }

    /// A challenge nobody answers ends the call as rejected once Timer B (64·T1) is over.
    func testAChallengeWithoutARetryEndsTheCallAsRejected() {
        see(invite(cseq: 1))
        see(response(401, cseq: 1))
        env.advance(UASConfig().transactionLingerMs - 1)
        observer.sweep()
        XCTAssertEqual(state, .ringing)
        env.advance(1)
        observer.sweep()
        XCTAssertEqual(state, .ended)
        XCTAssertEqual(lastStored?.endReason, "rejected_401")
        XCTAssertEqual(lastStored?.endedBy, "agent")
    }

    /// §9.2: a CANCEL has no effect once a final response is out, and a 200 may be crossing it: the 200 makes the
    /// call; a 487 would have ended it.
    func testACancelCrossedByA200LeavesTheCallAnswered() {
        see(invite(cseq: 1))
        see(SIPText.request("CANCEL", branch: "z9hG4bK-inv1", cseq: 1))
        XCTAssertEqual(state, .ringing)
        see(response(200, cseq: 1))
        XCTAssertEqual(state, .active)
    }

    func testACancelledCallEndsAtIts487() {
        see(invite(cseq: 1))
        see(SIPText.request("CANCEL", branch: "z9hG4bK-inv1", cseq: 1))
        see(response(200, cseq: 1, method: "CANCEL"))
        XCTAssertEqual(state, .ringing)
        see(response(487, cseq: 1))
        XCTAssertEqual(state, .ended)
        XCTAssertEqual(lastStored?.endReason, "cancelled")
        XCTAssertEqual(lastStored?.endedBy, "caller")
    }

    /// Mirror: a request captured at two points, in bytes that differ (the second copy with the proxy's Via on
    /// top), or retransmitted, is one event.
    func testAnInDialogRequestSeenTwiceIsOneEvent() {
        see(invite(cseq: 1))
        see(response(200, cseq: 1))
        let dtmf = info(cseq: 2, digit: "5")
        let copy = info(cseq: 2, digit: "5", viaHost: "203.0.113.1")
        see(dtmf)
        see(copy)
        see(dtmf)
        XCTAssertEqual(env.events.filter { $0 == "dtmf" }.count, 1)
        see(info(cseq: 3, digit: "6"))
        XCTAssertEqual(env.events.filter { $0 == "dtmf" }.count, 2, "the next digit is an event of its own")
    }

    /// A forked INVITE answered twice: the caller ACKs and BYEs the second dialog at once (§13.2.2.4); that BYE
    /// is not the end of the call, whose dialog goes on with the first 2xx's tag.
    func testTheByeOfAForkedSecondDialogDoesNotEndTheCall() {
        see(invite(cseq: 1))
        see(response(200, cseq: 1))
        see(response(200, cseq: 1).replacing(tag: "agent-tag", with: "other-fork"))
        see(SIPText.request("BYE", branch: "z9hG4bK-bye-fork", cseq: 2, toTag: "other-fork"))
        XCTAssertEqual(state, .active)
        see(SIPText.request("BYE", branch: "z9hG4bK-bye", cseq: 3, toTag: "agent-tag"))
        XCTAssertEqual(state, .ended)
        XCTAssertEqual(lastStored?.endReason, "bye")
    }

    /// A final response never seen (lost, or not captured) does not keep the call for --max-call-duration.
    func testACallWithNoFinalResponseEndsAtTheRingingLimit() {
        see(invite(cseq: 1))
        XCTAssertEqual(lastStored?.state, .ringing, "stored at its INVITE, before the agent can write to it")
        env.advance(CallObserver.ringingLimitMs - 1)
        observer.sweep()
        XCTAssertEqual(state, .ringing)
        env.advance(1)
        observer.sweep()
        XCTAssertEqual(state, .ended)
        XCTAssertEqual(lastStored?.endReason, "no_final_response")
        XCTAssertEqual(observer.liveCallCount, 0)
    }
}

private extension Array where Element == UInt8 {
    func replacing(tag: String, with other: String) -> [UInt8] {
        Array(String(decoding: self, as: UTF8.self).replacingOccurrences(of: "tag=\(tag)", with: "tag=\(other)").utf8)
    }
}
