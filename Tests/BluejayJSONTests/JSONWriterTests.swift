import BluejayJSON
import Foundation
import XCTest

final class JSONWriterTests: XCTestCase {
    /// Independent check: Foundation must read back what we wrote.
    private func foundation(_ bytes: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    func testCommasAndNesting() throws {
        var w = JSONWriter()
        w.beginObject()
        w.member("a", int: 1)
        w.key("b"); w.beginArray(); w.int(-2); w.bool(true); w.null(); w.beginObject(); w.endObject(); w.beginArray(); w.endArray(); w.endArray()
        w.member("c", bool: false)
        w.member("d", raw: Array(#"{"x":1500.00}"#.utf8)[...])
        w.memberNull("e")
        w.member("f", string: "s")
        w.endObject()
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self),
                       #"{"a":1,"b":[-2,true,null,{},[]],"c":false,"d":{"x":1500.00},"e":null,"f":"s"}"#)
        XCTAssertNoThrow(try RawJSON.parse(w.bytes))
        XCTAssertNotNil(try foundation(w.bytes) as? [String: Any])
    }

    func testTopLevelArrayOfStrings() throws {
        var w = JSONWriter()
        w.beginArray(); w.string("a"); w.string("b"); w.endArray()
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"["a","b"]"#)
    }

    func testIntegerExtremes() throws {
        for v: Int64 in [0, 7, -7, 10, 1_000_000, .max, .min] {
            var w = JSONWriter()
            w.int(v)
            XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), String(v))
        }
    }

    func testStringEscaping() throws {
        let tricky = "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\u{08} ff\u{0C} nul\u{0} us\u{1F} del\u{7F} é 中 😀 \u{2028}"
        var w = JSONWriter()
        w.beginObject(); w.member("k\"\\\n", string: tricky); w.endObject()
        let text = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#"quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\u0000 us\u001f"#), text)
        XCTAssertTrue(text.contains("é 中 😀"), "non-ASCII is written as UTF-8, not escaped")
        let object = try XCTUnwrap(try foundation(w.bytes) as? [String: String])
        XCTAssertEqual(object["k\"\\\n"], tricky)
        let back = try RawJSON.parse(w.bytes)
        XCTAssertEqual(back.members?.first?.key, "k\"\\\n")
        XCTAssertEqual(back["k\"\\\n"]?.string, tricky)
    }

    func testEveryControlCharacterRoundTrips() throws {
        let all = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        var w = JSONWriter()
        w.string(all)
        XCTAssertEqual(try foundation(w.bytes) as? String, all)
        XCTAssertEqual(try RawJSON.parse(w.bytes).string, all)
    }
}
