import BluejayCalls
import BluejaySIP
import Logging
import XCTest

final class UserAgentServerTests: XCTestCase {
    var env: FakeEnvironment!
    var registry: CallRegistry!
    var uas: UserAgentServer!
    let udpPeer = SIPPeer(transport: .udp, host: "192.0.2.10", port: 5060, channelID: 1, localPort: 5060)

    override func setUp() {
        env = FakeEnvironment()
        registry = CallRegistry()
        var config = UASConfig()
        config.maxCalls = 2
        uas = UserAgentServer(config: config, registry: registry, environment: env, logger: Logger(label: "test"))
    }

    private func answeredCall(callID: String = "call-1@test") -> String {
        uas.receive(SIPText.invite(callID: callID), from: udpPeer)
        let ok = env.drain().last!
        XCTAssertEqual(ok.statusCode, 200)
        return ok.toTag!
    }

    func testInviteAnsweredAtOnceGets200WithTagAndInactiveSDPAnswer() throws {
        uas.receive(SIPText.invite(), from: udpPeer)
        XCTAssertEqual(env.statuses, [200], "answered within 100 ms: no 100 Trying")
        let ok = env.sent[0].message
        XCTAssertNotNil(ok.toTag)
        XCTAssertEqual(ok.contentType, "application/sdp")
        let sdp = String(decoding: ok.body, as: UTF8.self)
        XCTAssertTrue(sdp.contains("a=inactive"), sdp)
        XCTAssertTrue(sdp.contains("m=audio 9 RTP/AVP 8"), "first offered codec only: \(sdp)")
        XCTAssertEqual(ok.headerValues("Allow").joined(separator: ", "), UserAgentServer.allow)
        XCTAssertEqual(env.persisted.last?.state, .active)
        XCTAssertEqual(env.persisted.last?.simulationResultID, "sim-1")
        XCTAssertEqual(registry.entry("call-1@test")?.state, .active)
        XCTAssertEqual(registry.entry("call-1@test")?.simulationResultID, "sim-1")
    }

    func testTwoHundredWaitsUntilCallStateIsDurable() {
        env.persistImmediately = false
        uas.receive(SIPText.invite(), from: udpPeer)
        XCTAssertEqual(env.statuses, [], "no 200 before the call is stored")
        env.advance(99)
        XCTAssertEqual(env.statuses, [])
        env.advance(1)
        XCTAssertEqual(env.statuses, [100], "100 Trying once the answer is 100 ms late")
        env.advance(1_000)
        XCTAssertEqual(env.statuses, [100], "only one 100 Trying")
        env.completePersists()
        XCTAssertEqual(env.statuses, [100, 200])
    }

    func testInviteRetransmittedBeforeItsAnswerGets100Trying() {
        env.persistImmediately = false
        uas.receive(SIPText.invite(), from: udpPeer)
        uas.receive(SIPText.invite(), from: udpPeer)
        XCTAssertEqual(env.statuses, [100])
        env.advance(1_000)
        XCTAssertEqual(env.statuses, [100], "the timer sends no second one")
        env.completePersists()
        XCTAssertEqual(env.statuses, [100, 200])
        XCTAssertEqual(uas.liveCallCount, 1)
    }

    func testOneTimerServesManyWaitingInvites() {
        env.persistImmediately = false
        uas.receive(SIPText.invite(callID: "a@test"), from: udpPeer)
        env.advance(50)
        uas.receive(SIPText.invite(callID: "b@test"), from: udpPeer)
        env.advance(50)
        XCTAssertEqual(env.statuses, [100], "the first INVITE's is due")
        XCTAssertEqual(env.sent[0].message.callID, "a@test")
        env.advance(50)
        XCTAssertEqual(env.statuses, [100, 100])
        XCTAssertEqual(env.sent[1].message.callID, "b@test")
    }

    func testRetransmittedInviteGetsTheSameResponseAgain() {
        uas.receive(SIPText.invite(), from: udpPeer)
        let first = env.sent[0].message
        uas.receive(SIPText.invite(), from: udpPeer)
        XCTAssertEqual(env.statuses, [200, 200])
        XCTAssertEqual(env.sent[1].message.toTag, first.toTag)
        XCTAssertEqual(uas.liveCallCount, 1)
    }

    func testTwoHundredRetransmittedOverUDPUntilACK() {
        let tag = answeredCall()
        env.advance(500)
        env.advance(1_000)
        XCTAssertEqual(env.statuses, [200, 200], "Timer G: at T1 and 2·T1")
        uas.receive(SIPText.request("ACK", toTag: tag), from: udpPeer)
        env.drain()
        env.advance(10_000)
        XCTAssertEqual(env.statuses, [], "ACK stops retransmission")
        XCTAssertEqual(registry.entry("call-1@test")?.state, .active)
    }

    func testNoACKEndsTheCallAfter64T1() {
        _ = answeredCall()
        env.advance(40_000)
        XCTAssertEqual(registry.entry("call-1@test")?.state, .ended)
        XCTAssertEqual(env.ended, ["call-1@test"])
        XCTAssertEqual(env.persisted.last?.endReason, "no_ack")
        // Retransmissions were capped at T2 = 4 s: 0.5, 1.5, 3.5, 7.5, 11.5, ... < 32 s.
        XCTAssertEqual(env.statuses.filter { $0 == 200 }.count, 10)
    }

    func testByeEndsCallAfterStateIsStored() {
        let tag = answeredCall()
        uas.receive(SIPText.request("ACK", toTag: tag), from: udpPeer)
        env.persistImmediately = false
        uas.receive(SIPText.request("BYE", branch: "z9hG4bK-bye", cseq: 2, toTag: tag), from: udpPeer)
        XCTAssertEqual(env.statuses, [], "BYE answered only once the end is durable")
        env.completePersists()
        XCTAssertEqual(env.statuses, [200])
        XCTAssertEqual(env.ended, ["call-1@test"])
        XCTAssertEqual(env.persisted.last?.endedBy, "caller")
        // A retransmitted BYE gets the same 200, not a 481.
        uas.receive(SIPText.request("BYE", branch: "z9hG4bK-bye", cseq: 2, toTag: tag), from: udpPeer)
        XCTAssertEqual(env.statuses, [200, 200])
        XCTAssertEqual(env.ended.count, 1)
    }

    func testInDialogRequestForUnknownDialogGets481() {
        uas.receive(SIPText.request("BYE", callID: "nobody@test", toTag: "made-up"), from: udpPeer)
        XCTAssertEqual(env.statuses, [481])
        let tag = answeredCall()
        uas.receive(SIPText.request("BYE", branch: "z9hG4bK-x", cseq: 2, toTag: tag + "-wrong"), from: udpPeer)
        XCTAssertEqual(env.statuses, [481])
    }

    func testCancelWhileRingingGets200And487() {
        var config = UASConfig()
        config.ringMs = 1_000
        uas = UserAgentServer(config: config, registry: registry, environment: env, logger: Logger(label: "test"))
        uas.receive(SIPText.invite(), from: udpPeer)
        XCTAssertEqual(env.statuses, [180], "a provisional answer at once: no 100 Trying needed")
        XCTAssertEqual(registry.entry("call-1@test")?.state, .ringing)
        env.drain()
        uas.receive(SIPText.request("CANCEL", cseq: 1), from: udpPeer)
        XCTAssertEqual(env.statuses, [200, 487])
        XCTAssertEqual(env.sent[0].message.method, "CANCEL")
        XCTAssertEqual(env.sent[1].message.method, "INVITE")
        env.drain()
        env.advance(2_000)
        XCTAssertFalse(env.statuses.contains(200), "a cancelled INVITE never gets a 200 too")
        XCTAssertEqual(env.persisted.last?.endReason, "cancelled")
        XCTAssertEqual(env.ended, ["call-1@test"])
        // The ACK for the 487 stops its retransmission.
        uas.receive(SIPText.request("ACK", cseq: 1), from: udpPeer)
        env.drain()
        env.advance(10_000)
        XCTAssertEqual(env.statuses, [])
    }

    func testCancelAfterAnswerOnlyAnswersTheCancel() {
        _ = answeredCall()
        uas.receive(SIPText.request("CANCEL", cseq: 1), from: udpPeer)
        XCTAssertEqual(env.statuses.first, 200)
        XCTAssertEqual(registry.entry("call-1@test")?.state, .active)
        uas.receive(SIPText.request("CANCEL", callID: "x@y", branch: "z9hG4bK-none", cseq: 1), from: udpPeer)
        XCTAssertEqual(env.statuses.last, 481)
    }

    func testReInviteKeepsTheCallAndRefreshesSessionTimer() {
        uas.receive(SIPText.request("INVITE", extra: ["Session-Expires: 120;refresher=uac", "Supported: timer", "X-Simulation-Result-Id: s"],
                                    body: SIPText.sdp), from: udpPeer)
        let ok = env.drain().last!
        XCTAssertEqual(ok.headerValues("Require").first, "timer")
        XCTAssertEqual(ok.sessionExpires?.seconds, 120)
        XCTAssertEqual(ok.sessionExpires?.refresher, "uac")
        let tag = ok.toTag!
        uas.receive(SIPText.request("ACK", toTag: tag), from: udpPeer)
        env.advance(60_000)
        uas.receive(SIPText.request("INVITE", branch: "z9hG4bK-re", cseq: 2, toTag: tag,
                                    extra: ["Session-Expires: 120;refresher=uac", "Supported: timer"], body: SIPText.sdp), from: udpPeer)
        XCTAssertEqual(env.statuses.last, 200)
        XCTAssertEqual(uas.liveCallCount, 1)
        uas.receive(SIPText.request("ACK", cseq: 2, toTag: tag), from: udpPeer)
        env.advance(60_000)
        XCTAssertEqual(registry.entry("call-1@test")?.state, .active, "the refresh restarted the session timer")
        env.advance(40_000)
        XCTAssertEqual(registry.entry("call-1@test")?.state, .ended, "no refresh: the session expires")
        XCTAssertEqual(env.persisted.last?.endReason, "session_expired")
    }

    func testSessionExpiresBelowMinSEGets422() {
        uas.receive(SIPText.request("INVITE", extra: ["Session-Expires: 30", "Supported: timer"], body: SIPText.sdp), from: udpPeer)
        XCTAssertEqual(env.statuses, [422])
        XCTAssertEqual(env.sent[0].message.minSE, 90)
    }

    func testOptionsAndUnsupportedMethods() {
        uas.receive(SIPText.request("OPTIONS"), from: udpPeer)
        uas.receive(SIPText.request("REGISTER", branch: "z9hG4bK-2"), from: udpPeer)
        uas.receive(SIPText.request("FOO", branch: "z9hG4bK-3"), from: udpPeer)
        XCTAssertEqual(env.statuses, [200, 405, 501])
        XCTAssertEqual(env.sent[1].message.headerValues("Allow").joined(separator: ", "), UserAgentServer.allow)
        XCTAssertEqual(env.sent[2].message.headerValues("Allow").joined(separator: ", "), UserAgentServer.allow)
    }

    func testConcurrentCallLimitGets503() {
        _ = answeredCall(callID: "a@t")
        _ = answeredCall(callID: "b@t")
        uas.receive(SIPText.invite(callID: "c@t"), from: udpPeer)
        XCTAssertEqual(env.statuses, [503])
        XCTAssertEqual(env.sent[0].message.headerValues("Retry-After").first, "5")
    }

    func testMissingMandatoryHeaderGets400RoutedByVia() {
        var text = String(decoding: SIPText.request("OPTIONS"), as: UTF8.self)
        text = text.replacingOccurrences(of: "Call-ID: call-1@test\r\n", with: "")
        uas.receive(Array(text.utf8), from: udpPeer)
        XCTAssertEqual(env.statuses, [400])
        XCTAssertEqual(env.sent[0].destination.port, 5060)
        let answer = String(decoding: env.sent[0].raw, as: UTF8.self)
        XCTAssertTrue(answer.contains("branch=z9hG4bK-1"), "the 400 carries the request's Via: \(answer)")
    }

    func testGarbageIsDroppedWithoutAnswer() {
        uas.receive(Array("\u{01}\u{02}not sip at all".utf8), from: udpPeer)
        uas.receive([], from: udpPeer)
        XCTAssertEqual(env.statuses, [])
        XCTAssertEqual(uas.counters.dropped, 2)
    }

    func testResponsesFollowRportAndReceived() {
        let natPeer = SIPPeer(transport: .udp, host: "203.0.113.7", port: 40_000, channelID: 1, localPort: 5060)
        uas.receive(SIPText.request("OPTIONS", viaParams: ";rport"), from: natPeer)
        let response = env.sent[0].message, destination = env.sent[0].destination
        XCTAssertEqual(destination.host, "203.0.113.7")
        XCTAssertEqual(destination.port, 40_000, "rport: back to the source port")
        XCTAssertEqual(response.topVia?.received, "203.0.113.7")
        XCTAssertEqual(response.topVia?.rport, .value(40_000))
        env.drain()
        uas.receive(SIPText.request("OPTIONS", branch: "z9hG4bK-2"), from: natPeer)
        XCTAssertEqual(env.sent[0].destination.port, 5060, "no rport: the sent-by port, at the source address")
        XCTAssertEqual(env.sent[0].destination.host, "203.0.113.7")
        env.drain()
        uas.receive(SIPText.request("OPTIONS", branch: "z9hG4bK-3", viaParams: ";maddr=239.1.1.1"), from: natPeer)
        XCTAssertEqual(env.sent[0].destination.host, "239.1.1.1", "maddr wins")
        env.drain()
        uas.receive(SIPText.request("OPTIONS", branch: "z9hG4bK-4", viaParams: ";maddr=[2001:db8::9]"), from: natPeer)
        XCTAssertEqual(env.sent[0].destination.host, "2001:db8::9", "an IPv6 maddr, without its brackets")
        env.drain()
        // A name is not resolved (getaddrinfo would stop the SIP loop for as long as DNS takes, and any peer can
        // write one): the response goes to the source address, as without maddr.
        uas.receive(SIPText.request("OPTIONS", branch: "z9hG4bK-5", viaParams: ";rport;maddr=slow.dns.example"), from: natPeer)
        XCTAssertEqual(env.sent[0].destination.host, "203.0.113.7")
        XCTAssertEqual(env.sent[0].destination.port, 40_000)
    }

    func testNoRequestGetsTwoFinalResponses() {
        var config = UASConfig()
        config.ringMs = 1_000
        uas = UserAgentServer(config: config, registry: registry, environment: env, logger: Logger(label: "test"))
        env.persistImmediately = false
        uas.receive(SIPText.invite(), from: udpPeer)
        env.advance(1_000) // answer starts, waits for the store
        uas.receive(SIPText.request("CANCEL", cseq: 1), from: udpPeer)
        env.completePersists() // the store answers after the CANCEL
        let inviteFinals = env.sent.filter { $0.message.method == "INVITE" && $0.message.statusCode >= 200 }.map(\.message.statusCode)
        XCTAssertEqual(inviteFinals, [487])
    }

    func testRestoredCallAnswersItsByeAfterRestart() {
        let tag = answeredCall()
        let stored = env.persisted.last!
        // A new process: new registry and agent, the store's open calls restored.
        let env2 = FakeEnvironment()
        let registry2 = CallRegistry()
        let uas2 = UserAgentServer(config: UASConfig(), registry: registry2, environment: env2, logger: Logger(label: "t"))
        uas2.restore([stored])
        XCTAssertEqual(registry2.entry("call-1@test")?.state, .active)
        uas2.receive(SIPText.request("BYE", branch: "z9hG4bK-bye", cseq: 2, toTag: tag), from: udpPeer)
        XCTAssertEqual(env2.statuses, [200])
        XCTAssertEqual(env2.ended, ["call-1@test"])
    }

    func testHeaderRulesReachTheRegistry() {
        uas.receive(SIPText.invite(extra: ["x-simulation-result-id:   sim-lower  ", "X-Simulation-Result-Id: second", "X-Other: 1"]), from: udpPeer)
        XCTAssertEqual(registry.entry("call-1@test")?.simulationResultID, "sim-lower")
        let headers = String(decoding: env.persisted.last!.sipHeadersJSON, as: UTF8.self)
        XCTAssertTrue(headers.contains("\"X-Other\":\"1\""), headers)
    }
}
