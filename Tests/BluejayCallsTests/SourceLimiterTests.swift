import BluejayCalls
import Logging
import XCTest

final class SourceLimiterTests: XCTestCase {
    func testOffAdmitsEverythingAndKeepsNoState() {
        let limiter = SourceLimiter(config: .init())
        for i in 0..<1_000 { XCTAssertEqual(limiter.admit(callID: "c\(i)", source: "192.0.2.\(i % 250)", nowMs: 0), .admit) }
        XCTAssertEqual(limiter.trackedSources, 0)
    }

    func testTokenBucketRefillsAtTheRateWithBurstOfOneSecond() {
        let limiter = SourceLimiter(config: .init(invitesPerSecond: 2))
        XCTAssertEqual(limiter.admit(callID: "a", source: "192.0.2.1", nowMs: 1_000), .admit)
        XCTAssertEqual(limiter.admit(callID: "b", source: "192.0.2.1", nowMs: 1_000), .admit)
        XCTAssertEqual(limiter.admit(callID: "c", source: "192.0.2.1", nowMs: 1_000), .rateLimited(retryAfterSeconds: 1))
        XCTAssertEqual(limiter.admit(callID: "d", source: "192.0.2.2", nowMs: 1_000), .admit, "another source has its own bucket")
        XCTAssertEqual(limiter.admit(callID: "e", source: "192.0.2.1", nowMs: 1_400), .rateLimited(retryAfterSeconds: 1), "0.8 tokens")
        XCTAssertEqual(limiter.admit(callID: "f", source: "192.0.2.1", nowMs: 1_500), .admit, "one token after 0.5 s at 2/s")
        XCTAssertEqual(limiter.admit(callID: "g", source: "192.0.2.1", nowMs: 9_000), .admit)
        XCTAssertEqual(limiter.admit(callID: "h", source: "192.0.2.1", nowMs: 9_000), .admit)
        XCTAssertEqual(limiter.admit(callID: "i", source: "192.0.2.1", nowMs: 9_000), .rateLimited(retryAfterSeconds: 1), "burst capped at the rate")
    }

    func testRetryAfterIsTheTimeToTheNextToken() {
        let limiter = SourceLimiter(config: .init(invitesPerSecond: 1))
        XCTAssertEqual(limiter.admit(callID: "a", source: "h", nowMs: 0), .admit)
        XCTAssertEqual(limiter.admit(callID: "b", source: "h", nowMs: 100), .rateLimited(retryAfterSeconds: 1))
        XCTAssertEqual(limiter.admit(callID: "b", source: "h", nowMs: 1_000), .admit)
        XCTAssertEqual(SourceLimiter.Verdict.rateLimited(retryAfterSeconds: 1).refusal?.status, 503)
    }

    func testConcurrentCallsPerSourceAreGivenBackWhenCallsEnd() {
        let limiter = SourceLimiter(config: .init(callsPerSource: 2))
        XCTAssertEqual(limiter.admit(callID: "a", source: "h", nowMs: 0), .admit)
        XCTAssertEqual(limiter.admit(callID: "b", source: "h", nowMs: 0), .admit)
        XCTAssertEqual(limiter.admit(callID: "c", source: "h", nowMs: 0), .tooManyCalls)
        limiter.callEnded("a")
        limiter.callEnded("a") // twice is harmless
        XCTAssertEqual(limiter.admit(callID: "c", source: "h", nowMs: 0), .admit)
        XCTAssertEqual(limiter.admit(callID: "d", source: "h", nowMs: 0), .tooManyCalls)
        // The sweep gives back calls that ended without word (the safety net).
        limiter.sweep(nowMs: 0, isLive: { $0 == "b" })
        XCTAssertEqual(limiter.trackedCalls, 1)
        XCTAssertEqual(limiter.admit(callID: "d", source: "h", nowMs: 0), .admit)
    }

    func testIdleSourcesAreForgottenAndAFloodOfSourcesIsBounded() {
        let limiter = SourceLimiter(config: .init(invitesPerSecond: 10, maxSources: 100))
        for i in 0..<100 { XCTAssertEqual(limiter.admit(callID: "c\(i)", source: "s\(i)", nowMs: 0), .admit) }
        XCTAssertEqual(limiter.admit(callID: "x", source: "new", nowMs: 0), .tableFull, "full of sources with half-used buckets")
        XCTAssertEqual(limiter.admit(callID: "y", source: "s1", nowMs: 0), .admit, "a known source still gets its tokens")
        XCTAssertEqual(limiter.trackedSources, 100)
        limiter.sweep(nowMs: 1_000)
        XCTAssertEqual(limiter.trackedSources, 0, "buckets full again and no live call: forgotten")
        XCTAssertEqual(limiter.admit(callID: "x", source: "new", nowMs: 1_000), .admit)
        // A spoofed flood of one INVITE per source: never more than maxSources entries.
        for i in 0..<10_000 { _ = limiter.admit(callID: "f\(i)", source: "f\(i)", nowMs: 1_000 + Int64(i / 500)) }
        XCTAssertLessThanOrEqual(limiter.trackedSources, 100)
    }
}

/// The user agent asks the limiter about initial INVITEs only, answers its refusals with 503 + Retry-After, and
/// answers a retransmission from the transaction without asking again.
final class UserAgentSourceLimitTests: XCTestCase {
    func testRefusedInviteGets503WithRetryAfterAndRetransmissionsCostNothing() {
        let env = FakeEnvironment()
        let uas = UserAgentServer(config: UASConfig(), registry: CallRegistry(), environment: env, logger: Logger(label: "test"))
        let limiter = SourceLimiter(config: .init(invitesPerSecond: 1))
        uas.sourceLimiter = limiter
        let peer = SIPPeer(transport: .udp, host: "192.0.2.10", port: 5060, channelID: 1, localPort: 5060)
        uas.receive(SIPText.invite(callID: "a@test"), from: peer)
        XCTAssertEqual(env.statuses, [200], "answered at once: no 100 Trying needed")
        _ = env.drain()
        uas.receive(SIPText.invite(callID: "b@test"), from: peer)
        let refused = env.drain()
        XCTAssertEqual(refused.map(\.statusCode), [503])
        XCTAssertEqual(refused.first?.headerValues("Retry-After"), ["1"])
        XCTAssertEqual(uas.liveCallCount, 1)
        uas.receive(SIPText.invite(callID: "b@test"), from: peer) // retransmission: same answer, no token asked for
        XCTAssertEqual(env.drain().map(\.statusCode), [503])
        // Other requests (OPTIONS here, in-dialog ones) are never limited.
        uas.receive(SIPText.request("OPTIONS", callID: "c@test", branch: "z9hG4bK-o"), from: peer)
        XCTAssertEqual(env.drain().map(\.statusCode), [200])
        XCTAssertEqual(limiter.trackedSources, 1)
    }
}
