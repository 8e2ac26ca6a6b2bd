import BluejayAgentProtocol
import XCTest

final class ToolCallDecodingTests: XCTestCase {
    func testSchemaShape() throws {
        let r = try record(#"{"type":"tool_call","call_id":"abc@host","name":"lookup_order","parameters":{"order_id":"ORD-1","amount":1500.00},"output":{"status":"shipped","big":1e400},"description":"Look up","timestamp":"2024-01-15T14:20:00Z","extra":[1]}"#)
        XCTAssertEqual(r.kind, .toolCall)
        XCTAssertEqual(r.call, CallReference(callID: "abc@host", simulationResultID: nil))
        XCTAssertEqual(r.start, .epochMs(1_705_328_400_000))
        XCTAssertNil(r.end)
        XCTAssertEqual(text(r.fragment),
                       #""name":"lookup_order","description":"Look up","parameters":{"order_id":"ORD-1","amount":1500.00},"output":{"status":"shipped","big":1e400}"#)
    }

    func testProseGuideShape() throws {
        let r = try record(#"{"type":"tool_call","simulation_result_id":"sim-1","tool_name":"transfer_funds","parameters":{"amount":500},"result":{"transaction_id":"txn_abc123"},"start_offset_ms":4200}"#)
        XCTAssertEqual(r.call, CallReference(callID: nil, simulationResultID: "sim-1"))
        XCTAssertEqual(r.start, .offsetMs(4200))
        XCTAssertEqual(text(r.fragment), #""name":"transfer_funds","parameters":{"amount":500},"output":{"transaction_id":"txn_abc123"}"#)
    }

    func testBothIdentifiers() throws {
        let r = try record(#"{"type":"tool_call","call_id":"c","simulation_result_id":"s","name":"n"}"#)
        XCTAssertEqual(r.call, CallReference(callID: "c", simulationResultID: "s"))
    }

    func testNoTimeMeansArrival() throws {
        let r = try record(#"{"type":"tool_call","call_id":"c","name":"n"}"#)
        XCTAssertEqual(r.start, .epochMs(Self.arrival))
        XCTAssertEqual(text(r.fragment), #""name":"n""#, "absent optionals are omitted")
    }

    func testOffsetWinsOverTimestamp() throws {
        let r = try record(#"{"type":"tool_call","call_id":"c","name":"n","timestamp":"2024-01-15T14:20:00Z","start_offset_ms":7}"#)
        XCTAssertEqual(r.start, .offsetMs(7))
    }

    func testNameWinsOverToolNameAndOutputOverResult() throws {
        let r = try record(#"{"type":"tool_call","call_id":"c","tool_name":"old","name":"new","result":1,"output":2}"#)
        XCTAssertEqual(text(r.fragment), #""name":"new","output":2"#)
        let nullName = try record(#"{"type":"tool_call","call_id":"c","name":null,"tool_name":"fallback"}"#)
        XCTAssertEqual(text(nullName.fragment), #""name":"fallback""#)
    }

    func testOutputMayBeAnyValueIncludingNull() throws {
        for output in ["null", "\"text\"", "42.0", "[1,2]", "true"] {
            let r = try record(#"{"type":"tool_call","call_id":"c","name":"n","output":\#(output)}"#)
            XCTAssertEqual(text(r.fragment), #""name":"n","output":\#(output)"#)
        }
    }

    func testNullOptionalsAreOmitted() throws {
        let r = try record(#"{"type":"tool_call","call_id":"c","name":"n","parameters":null,"description":null,"timestamp":null}"#)
        XCTAssertEqual(text(r.fragment), #""name":"n""#)
        XCTAssertEqual(r.start, .epochMs(Self.arrival))
    }

    func testStringValuesAreCopiedRaw() throws {
        let r = try record(#"{"type":"tool_call","call_id":"c\u0040h","name":"caf\u00e9 \"q\"","description":"😀"}"#)
        XCTAssertEqual(r.call.callID, "c@h", "identifiers are decoded")
        XCTAssertEqual(text(r.fragment), #""name":"caf\u00e9 \"q\"","description":"😀""#, "agent text is not re-escaped")
    }

    func testFirstDuplicateKeyWins() throws {
        let r = try record(#"{"type":"tool_call","call_id":"c","name":"first","name":"second"}"#)
        XCTAssertEqual(text(r.fragment), #""name":"first""#)
    }

    func testTrailingCarriageReturnAndWhitespace() throws {
        let r = try record("  {\"type\":\"tool_call\",\"call_id\":\"c\",\"name\":\"n\"} \r")
        XCTAssertEqual(text(r.fragment), #""name":"n""#)
    }
}
