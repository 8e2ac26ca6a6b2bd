@testable import BluejayDelivery
import XCTest

/// The pure status → outcome mapping, without a server.
final class DeliveryOutcomeTests: XCTestCase {
    func testStatusClasses() {
        func map(_ status: Int) -> DeliveryOutcome {
            DeliveryOutcome.forHTTP(status: status, body: Array("b".utf8), retryAfterMs: 5, secret: "k")
        }
        XCTAssertEqual(map(204), .delivered(status: 204))
        for status in [408, 429, 500, 502, 503, 504] {
            XCTAssertEqual(map(status), .retryable(reason: "HTTP \(status)", status: status, retryAfterMs: 5))
        }
        for status in [301, 304, 400, 401, 403, 404, 409, 413, 422] {
            XCTAssertEqual(map(status), .rejected(status: status, body: "b"))
        }
        XCTAssertTrue(map(0).isRetryable)
    }

    func testTruncationNeverSplitsAUTF8Sequence() {
        let body = Array(repeating: UInt8(ascii: "a"), count: DeliveryOutcome.responseBodyCap - 1) + Array("€€".utf8)
        let text = DeliveryOutcome.truncatedText(body)
        XCTAssertEqual(text.utf8.count, DeliveryOutcome.responseBodyCap - 1)
        XCTAssertFalse(text.contains("\u{FFFD}"))
    }

    func testRedactionReplacesEveryOccurrence() {
        XCTAssertEqual(DeliveryOutcome.redact("k1 x k1", secret: "k1"), "[redacted] x [redacted]")
        XCTAssertEqual(DeliveryOutcome.redact("abc", secret: ""), "abc")
    }
}
