import BluejayDelivery
import XCTest

final class RetryPolicyTests: XCTestCase {
    let policy = RetryPolicy() // 1 s initial, ×2, 5 min cap, 20 % jitter

    func testGrowsExponentiallyWithoutJitter() {
        let delays = (1...5).map { policy.delayMs(afterAttempt: $0, retryAfterMs: nil, random: 0) }
        XCTAssertEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000])
        XCTAssertEqual(policy.delayMs(afterAttempt: 0, retryAfterMs: nil, random: 0), 1_000)
    }

    func testIsCappedEvenForHugeAttemptNumbers() {
        XCTAssertEqual(policy.delayMs(afterAttempt: 9, retryAfterMs: nil, random: 0), 256_000)
        XCTAssertEqual(policy.delayMs(afterAttempt: 10, retryAfterMs: nil, random: 0), 300_000)
        XCTAssertEqual(policy.delayMs(afterAttempt: 100_000, retryAfterMs: nil, random: 0), 300_000)
        XCTAssertEqual(policy.delayMs(afterAttempt: Int.max, retryAfterMs: nil, random: 0.5), 270_000)
    }

    func testJitterStaysWithinBounds() {
        for attempt in 1...12 {
            let base = policy.delayMs(afterAttempt: attempt, retryAfterMs: nil, random: 0)
            for r in stride(from: 0.0, to: 1.0, by: 0.05) {
                let d = policy.delayMs(afterAttempt: attempt, retryAfterMs: nil, random: r)
                XCTAssertLessThanOrEqual(d, base)
                XCTAssertGreaterThanOrEqual(Double(d), Double(base) * 0.8 - 1)
            }
        }
        XCTAssertEqual(policy.delayMs(afterAttempt: 3, retryAfterMs: nil, random: 0.5), 3_600)
    }

    func testFullJitterSpansZeroToBase() {
        let full = RetryPolicy(initialMs: 1_000, maxMs: 60_000, multiplier: 3, jitter: 1)
        XCTAssertEqual(full.delayMs(afterAttempt: 2, retryAfterMs: nil, random: 0), 3_000)
        XCTAssertEqual(full.delayMs(afterAttempt: 2, retryAfterMs: nil, random: 0.999), 3)
    }

    func testRetryAfterIsAFloor() {
        XCTAssertEqual(policy.delayMs(afterAttempt: 1, retryAfterMs: 7_000, random: 0.9), 7_000)
        XCTAssertEqual(policy.delayMs(afterAttempt: 5, retryAfterMs: 7_000, random: 0), 16_000)
        XCTAssertEqual(policy.delayMs(afterAttempt: 1, retryAfterMs: 0, random: 0), 1_000)
    }

    func testRetryAfterIsCapped() {
        XCTAssertEqual(policy.delayMs(afterAttempt: 1, retryAfterMs: 86_400_000, random: 0), 300_000)
    }

    func testOutOfRangeInputsAreClamped() {
        XCTAssertEqual(policy.delayMs(afterAttempt: 2, retryAfterMs: -5, random: -3), 2_000)
        XCTAssertEqual(policy.delayMs(afterAttempt: 2, retryAfterMs: nil, random: .nan), 2_000)
        XCTAssertEqual(RetryPolicy(multiplier: 0.5).delayMs(afterAttempt: 4, retryAfterMs: nil, random: 0), 1_000)
    }
}
