import XCTest
@testable import BluejayCalls

final class ExpiryQueueTests: XCTestCase {
    func testExpiresDueElementsOldestFirstAndKeepsTheRest() {
        var queue = ExpiryQueue<Int>()
        for i in 0..<5_000 { queue.append(i, atMs: Int64(i)) }
        var expired: [Int] = []
        queue.expire(nowMs: 2_999) { expired.append($0) }
        XCTAssertEqual(expired, Array(0..<3_000))
        XCTAssertEqual(queue.count, 2_000) // compacted past 1,024 expired, still counting right
        expired = []
        queue.expire(nowMs: 2_999) { expired.append($0) }
        XCTAssertEqual(expired, [])
        queue.append(5_000, atMs: 10_000)
        queue.expire(nowMs: 9_999) { expired.append($0) }
        XCTAssertEqual(expired, Array(3_000..<5_000))
        XCTAssertEqual(queue.count, 1)
    }
}
