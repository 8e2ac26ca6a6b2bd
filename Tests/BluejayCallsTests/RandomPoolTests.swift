import XCTest
@testable import BluejayCalls

final class RandomPoolTests: XCTestCase {
    /// Values keep coming past the 4 KiB refill boundary, and are not repeated (a stuck or zeroed buffer would be).
    func testValuesAcrossRefillsAreDistinct() {
        var pool = RandomPool()
        let values = (0..<2_000).map { _ in pool.uint64() } // four refills of 512 values
        XCTAssertEqual(Set(values).count, values.count)
        XCTAssertFalse(values.contains(0))
        // Every bit position takes both values somewhere: the bytes are not a constant pattern.
        let ored = values.reduce(UInt64(0)) { $0 | $1 }
        let anded = values.reduce(UInt64.max) { $0 & $1 }
        XCTAssertEqual(ored, UInt64.max)
        XCTAssertEqual(anded, 0)
    }
}
