import BluejayJSON
import XCTest

final class JSONObjectMergeTests: XCTestCase {
    private func raw(_ s: String) throws -> RawJSON { try RawJSON.parse(Array(s.utf8)) }

    func testLaterKeysWinAndFirstSeenOrderIsKept() throws {
        let merged = JSONObjectMerge.merge([
            try raw(#"{"a":1,"b":{"x":1500.00},"c":"keep"}"#),
            try raw(#"{"b":[1e400],"d":null}"#),
            try raw(#"{"a":"last","e":true}"#),
        ])
        XCTAssertEqual(String(decoding: merged, as: UTF8.self), #"{"a":"last","b":[1e400],"c":"keep","d":null,"e":true}"#)
        XCTAssertEqual(try RawJSON.parse(merged).members?.count, 5) // Foundation cannot hold 1e400; our scanner can
    }

    func testDuplicatesWithinOneObjectLastWins() throws {
        let merged = JSONObjectMerge.merge([try raw(#"{"a":1,"b":2,"a":3}"#)])
        XCTAssertEqual(String(decoding: merged, as: UTF8.self), #"{"a":3,"b":2}"#)
    }

    func testShallowNotDeep() throws {
        let merged = JSONObjectMerge.merge([try raw(#"{"o":{"x":1}}"#), try raw(#"{"o":{"y":2}}"#)])
        XCTAssertEqual(String(decoding: merged, as: UTF8.self), #"{"o":{"y":2}}"#)
    }

    func testEscapedKeysAreMergedByDecodedNameAndReEscaped() throws {
        let merged = JSONObjectMerge.merge([try raw(#"{"q\"k":1,"\u0041":1}"#), try raw(#"{"A":2}"#)])
        XCTAssertEqual(String(decoding: merged, as: UTF8.self), #"{"q\"k":1,"A":2}"#)
    }

    func testEmptyAndNonObjectInputs() throws {
        XCTAssertEqual(JSONObjectMerge.merge([]), Array("{}".utf8))
        XCTAssertEqual(JSONObjectMerge.merge([try raw("[1]"), try raw("null"), try raw("{}")]), Array("{}".utf8))
    }
}
