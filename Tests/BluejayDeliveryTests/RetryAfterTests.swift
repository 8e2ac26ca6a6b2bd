@testable import BluejayDelivery
import XCTest

final class RetryAfterTests: XCTestCase {
    // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example date).
    let exampleEpoch: Int64 = 784_111_777

    func testDeltaSeconds() {
        XCTAssertEqual(RetryAfter.milliseconds(from: "7"), 7_000)
        XCTAssertEqual(RetryAfter.milliseconds(from: " 120\r\n"), 120_000)
        XCTAssertEqual(RetryAfter.milliseconds(from: "0"), 0)
        XCTAssertEqual(RetryAfter.milliseconds(from: "99999999999999999999"), RetryAfter.maxSeconds * 1_000)
    }

    func testHTTPDateForms() {
        let now = exampleEpoch - 30
        XCTAssertEqual(RetryAfter.milliseconds(from: "Sun, 06 Nov 1994 08:49:37 GMT", nowEpochSeconds: now), 30_000)
        XCTAssertEqual(RetryAfter.milliseconds(from: "Sunday, 06-Nov-94 08:49:37 GMT", nowEpochSeconds: now), 30_000)
        XCTAssertEqual(RetryAfter.milliseconds(from: "Sun Nov  6 08:49:37 1994", nowEpochSeconds: now), 30_000)
    }

    func testPastDateMeansNow() {
        XCTAssertEqual(RetryAfter.milliseconds(from: "Sun, 06 Nov 1994 08:49:37 GMT", nowEpochSeconds: exampleEpoch + 100), 0)
    }

    func testGarbageIsIgnored() {
        XCTAssertNil(RetryAfter.milliseconds(from: ""))
        XCTAssertNil(RetryAfter.milliseconds(from: "soon"))
    }
}
