import BluejayAgentProtocol
import BluejayJSON
@testable import BluejaySidecarClient
import Foundation
import XCTest

/// The hand-written encoder and parser: what goes on the wire must be exactly valid JSON.
final class JSONValueTests: XCTestCase {
    func testRequestLineBytes() {
        let r = SidecarRequest.toolCall("lookup_order", call: .callID("abc@pbx"),
                                        parameters: ["order_id": "A\"1\n", "n": 2, "x": 1.5, "ok": true, "none": nil, "l": [1, "two"]],
                                        output: "shipped", description: "d", at: Date(timeIntervalSince1970: 1_705_328_400.123))
        XCTAssertEqual(String(decoding: r.line, as: UTF8.self),
                       #"{"type":"tool_call","call_id":"abc@pbx","name":"lookup_order","parameters":{"order_id":"A\"1\n","n":2,"x":1.5,"ok":true,"none":null,"l":[1,"two"]},"output":"shipped","description":"d","timestamp":"2024-01-15T14:20:00.123Z"}"# + "\n")
        XCTAssertEqual(String(decoding: SidecarRequest.start(simulationResultID: "S").line, as: UTF8.self),
                       #"{"type":"start","simulation_result_id":"S"}"# + "\n")
    }

    func testEncoderOutputIsValidJSON() throws {
        let v: JSONValue = ["ctl": .string("\u{01}\t\u{1F}é😀\\/"), "nan": .double(.nan), "big": .double(1e300), "neg": -42, "e": [], "o": [:]]
        var w = JSONWriter()
        w.value(v)
        let parsed = try JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String: Any]
        XCTAssertEqual(parsed?["ctl"] as? String, "\u{01}\t\u{1F}é😀\\/")
        XCTAssertTrue(parsed?["nan"] is NSNull)
        XCTAssertEqual(parsed?["neg"] as? Int, -42)
        XCTAssertEqual(try JSONValue.parse(w.bytes)["ctl"], v["ctl"])
    }

    func testParser() throws {
        let v = try JSONValue.parse(Array(#" {"ok":false,"error":"unknown_call","n":-1.5e2,"u":"\u00e9\ud83d\ude00","a":[true,null,{}]} "#.utf8))
        XCTAssertEqual(v["ok"], false)
        XCTAssertEqual(v["n"], .double(-150))
        XCTAssertEqual(v["u"]?.stringValue, "é😀")
        XCTAssertEqual(v["a"]?[1], .null)
        XCTAssertThrowsError(try JSONValue.parse(Array("{\"a\":1".utf8)))
        XCTAssertThrowsError(try JSONValue.parse(Array("{} x".utf8)))
        XCTAssertEqual(AgentReply.parse(Array("nope".utf8)).error, "bad_reply")
    }

    func testRFC3339() {
        XCTAssertEqual(RFC3339.format(epochMs: 0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(RFC3339.format(epochMs: 951_782_400_007), "2000-02-29T00:00:00.007Z")
        XCTAssertEqual(RFC3339.format(epochMs: -1), "1969-12-31T23:59:59.999Z")
        let now = Date()
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        XCTAssertEqual(f.date(from: RFC3339.format(now)).map { Int($0.timeIntervalSince1970 * 1000) },
                       Int((now.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
