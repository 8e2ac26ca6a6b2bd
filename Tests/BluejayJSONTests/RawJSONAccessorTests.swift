import BluejayJSON
import XCTest

final class RawJSONAccessorTests: XCTestCase {
    private func parse(_ s: String) throws -> RawJSON { try RawJSON.parse(Array(s.utf8)) }
    private func text(_ v: RawJSON?) -> String? { v.map { String(decoding: $0.bytes, as: UTF8.self) } }

    func testMemberValuesKeepTheirExactBytes() throws {
        let v = try parse(#"{"amount":1500.00,"big":1e400,"s":"caf\u00e9 \ud83d\ude00","neg":-0.0E+00,"o":{ "k" : [ 1 ,2 ] }}"#)
        XCTAssertEqual(text(v["amount"]), "1500.00")
        XCTAssertEqual(text(v["big"]), "1e400")
        XCTAssertEqual(text(v["s"]), #""caf\u00e9 \ud83d\ude00""#)
        XCTAssertEqual(text(v["neg"]), "-0.0E+00")
        XCTAssertEqual(text(v["o"]), #"{ "k" : [ 1 ,2 ] }"#)
        XCTAssertNil(v["missing"])
    }

    func testForEachMemberGivesDecodedKeysInOrderWithDuplicates() throws {
        var seen: [(String, String)] = []
        try parse(#"{ "a" : 1 ,"b\u0063":[2],"a":"x","":{} }"#).forEachMember { key, value in
            seen.append((String(decoding: key, as: UTF8.self), String(decoding: value.bytes, as: UTF8.self)))
        }
        XCTAssertEqual(seen.map(\.0), ["a", "bc", "a", ""])
        XCTAssertEqual(seen.map(\.1), ["1", "[2]", #""x""#, "{}"])
        var called = false
        try parse("[1]").forEachMember { _, _ in called = true }
        try parse("{}").forEachMember { _, _ in called = true }
        XCTAssertFalse(called)
    }

    func testParseOfSliceKeepsSliceIndices() throws {
        let buffer = Array(#"xx {"a":[true]} yy"#.utf8)
        let v = try RawJSON.parse(buffer[3..<15])
        XCTAssertEqual(v.bytes.startIndex, 3)
        XCTAssertEqual(text(v["a"]?.elements?.first), "true")
        XCTAssertEqual(v["a"]?.elements?.first?.bool, true)
    }

    func testSliceErrorOffsetIsRelativeToSlice() {
        let buffer = Array(#"xxxx[1,]"#.utf8)
        XCTAssertThrowsError(try RawJSON.parse(buffer[4...])) {
            XCTAssertEqual($0 as? JSONScanError, .invalid(offset: 3, reason: "unexpected character, expected a value"))
        }
    }

    func testDecodedStrings() throws {
        XCTAssertEqual(try parse(#""plain""#).string, "plain")
        XCTAssertEqual(try parse(#""q\"b\\s\/n\nt\tr\rb\bf\f""#).string, "q\"b\\s/n\nt\tr\rb\u{08}f\u{0C}")
        XCTAssertEqual(try parse(#""\u00e9\u4e2d\u0041""#).string, "é中A")
        XCTAssertEqual(try parse(#""\ud83d\ude00!""#).string, "😀!")
        XCTAssertEqual(try parse(#""\uD834\uDD1E""#).string, "𝄞")
        XCTAssertEqual(try parse(#""\u0000""#).string, "\u{0}")
        XCTAssertEqual(try parse("\"naïve 😀\"").string, "naïve 😀")
        XCTAssertNil(try parse("1").string)
    }

    func testIntegers() throws {
        XCTAssertEqual(try parse("0").int64, 0)
        XCTAssertEqual(try parse("-0").int64, 0)
        XCTAssertEqual(try parse("1500").int64, 1500)
        XCTAssertEqual(try parse("9223372036854775807").int64, .max)
        XCTAssertEqual(try parse("-9223372036854775808").int64, .min)
        XCTAssertNil(try parse("9223372036854775808").int64)
        XCTAssertNil(try parse("-9223372036854775809").int64)
        XCTAssertNil(try parse("1500.0").int64, "only integer syntax")
        XCTAssertNil(try parse("1e3").int64)
        XCTAssertNil(try parse(#""12""#).int64)
    }

    func testDoubles() throws {
        XCTAssertEqual(try parse("1500.00").double, 1500)
        XCTAssertEqual(try parse("-1.5e-3").double, -0.0015)
        XCTAssertEqual(try parse("42").double, 42)
        XCTAssertNil(try parse("1e400").double, "out of Double's finite range")
        XCTAssertNil(try parse("true").double)
    }

    func testBoolAndNull() throws {
        XCTAssertEqual(try parse("true").bool, true)
        XCTAssertEqual(try parse("false").bool, false)
        XCTAssertNil(try parse("null").bool)
        XCTAssertTrue(try parse("null").isNull)
        XCTAssertFalse(try parse("0").isNull)
    }

    func testMembersInOrderWithDuplicates() throws {
        let v = try parse(#" { "b" : 1 , "a\u0041" : "x" , "b" : [ ] , "" : null } "#)
        let members = try XCTUnwrap(v.members)
        XCTAssertEqual(members.map(\.key), ["b", "aA", "b", ""])
        XCTAssertEqual(members.map { text($0.value) }, ["1", #""x""#, "[ ]", "null"])
        XCTAssertEqual(members.map(\.value.kind), [.number, .string, .array, .null])
        XCTAssertEqual(text(v["b"]), "1", "subscript returns the first duplicate")
        XCTAssertEqual(text(v["aA"]), #""x""#, "keys compare decoded")
        XCTAssertEqual(try parse("{}").members?.count, 0)
        XCTAssertNil(try parse("[]").members)
        XCTAssertNil(try parse("[]")["a"])
    }

    func testMemberValuesContainingStructuralCharacters() throws {
        let v = try parse(#"{"s":"}],\"{[","n":-12.5e3,"t":true,"o":{"x":"]"},"last":null}"#)
        XCTAssertEqual(try XCTUnwrap(v.members).map(\.key), ["s", "n", "t", "o", "last"])
        XCTAssertEqual(v["s"]?.string, #"}],"{["#)
        XCTAssertEqual(text(v["n"]), "-12.5e3")
        XCTAssertEqual(text(v["o"]), #"{"x":"]"}"#)
        XCTAssertTrue(v["last"]?.isNull == true)
    }

    func testElements() throws {
        let v = try parse(#"[ 1 , "two" , [3] , {"four":4} , null ]"#)
        let elements = try XCTUnwrap(v.elements)
        XCTAssertEqual(elements.map(text), ["1", #""two""#, "[3]", #"{"four":4}"#, "null"])
        XCTAssertEqual(elements[3]["four"]?.int64, 4)
        XCTAssertEqual(try parse("[ ]").elements?.count, 0)
        XCTAssertNil(try parse("{}").elements)
    }
}
