import BluejayJSON
import XCTest

final class RawJSONDepthTests: XCTestCase {
    private func nested(_ depth: Int, open: String = "[", close: String = "]") -> [UInt8] {
        Array((String(repeating: open, count: depth) + String(repeating: close, count: depth)).utf8)
    }

    func testAcceptsDepth256() throws {
        XCTAssertEqual(try RawJSON.parse(nested(RawJSON.maxDepth)).kind, .array)
    }

    func testRejectsDepth257() {
        XCTAssertThrowsError(try RawJSON.parse(nested(RawJSON.maxDepth + 1))) { XCTAssertEqual($0 as? JSONScanError, .tooDeep) }
    }

    func testMixedObjectArrayNestingCounts() {
        let deep = String(repeating: #"{"a":["#, count: 129) + String(repeating: "]}", count: 129)
        XCTAssertThrowsError(try RawJSON.parse(Array(deep.utf8))) { XCTAssertEqual($0 as? JSONScanError, .tooDeep) }
    }

    func testHostileDepthDoesNotCrash() {
        XCTAssertThrowsError(try RawJSON.parse(Array(repeating: UInt8(ascii: "["), count: 100_000)))
    }

    func testSiblingsDoNotAccumulateDepth() throws {
        let wide = "[" + Array(repeating: "[[]]", count: 1000).joined(separator: ",") + "]"
        XCTAssertEqual(try RawJSON.parse(Array(wide.utf8)).elements?.count, 1000)
    }
}
