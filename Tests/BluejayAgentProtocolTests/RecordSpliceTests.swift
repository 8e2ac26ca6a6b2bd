import BluejayAgentProtocol
import Foundation
import BluejayTestSupport
import XCTest

final class RecordSpliceTests: XCTestCase {
    func testObjectShape() {
        XCTAssertEqual(text(RecordSplice.object(startOffsetMs: 5, endOffsetMs: nil, fragment: Array(#""name":"n""#.utf8))),
                       #"{"start_offset_ms":5,"name":"n"}"#)
        XCTAssertEqual(text(RecordSplice.object(startOffsetMs: 0, endOffsetMs: 12, fragment: Array(#""title":"t""#.utf8))),
                       #"{"start_offset_ms":0,"end_offset_ms":12,"title":"t"}"#)
        XCTAssertEqual(text(RecordSplice.object(startOffsetMs: 1, endOffsetMs: nil, fragment: [])), #"{"start_offset_ms":1}"#)
    }

    func testOffsets() {
        XCTAssertEqual(RecordSplice.offsetMs(.offsetMs(250), answeredAtEpochMs: 1_000), 250)
        XCTAssertEqual(RecordSplice.offsetMs(.offsetMs(-3), answeredAtEpochMs: 1_000), 0)
        XCTAssertEqual(RecordSplice.offsetMs(.epochMs(1_705_328_401_500), answeredAtEpochMs: 1_705_328_400_000), 1_500)
        XCTAssertEqual(RecordSplice.offsetMs(.epochMs(1_705_328_399_000), answeredAtEpochMs: 1_705_328_400_000), 0, "before answer clamps")
        XCTAssertEqual(RecordSplice.offsetMs(.epochMs(.max), answeredAtEpochMs: -1), .max)
        XCTAssertEqual(RecordSplice.offsetMs(.epochMs(.min), answeredAtEpochMs: 1), 0)
    }

    /// Decodes lines in both shapes, splices them and checks the whole body against Bluejay's published schema.
    func testSplicedBodyValidatesAgainstBluejaySchema() throws {
        let answered: Int64 = 1_705_328_400_000
        let lines = [
            #"{"type":"tool_call","call_id":"c","name":"lookup_order","parameters":{"order_id":"ORD-2024-001"},"output":{"status":"shipped","total":1500.00},"description":"Look up","timestamp":"2024-01-15T14:20:00.250Z"}"#,
            #"{"type":"tool_call","call_id":"c","tool_name":"initiate_return","parameters":{"reason":"size"},"result":"ok","start_offset_ms":9000}"#,
            #"{"type":"tool_call","call_id":"c","tool_name":"early","timestamp":"2024-01-15T14:19:00Z","output":null}"#,
            #"{"type":"tool_call","call_id":"c","name":"bare"}"#,
            #"{"type":"event","call_id":"c","title":"hold","start_offset_ms":100,"end_offset_ms":900,"description":"d","tags":["x"],"metadata":{"big":1e400}}"#,
            #"{"type":"event","call_id":"c","title":"instant","timestamp":"2024-01-15T16:20:03+02:00"}"#,
            #"{"type":"transcript","call_id":"c","speaker":"agent","utterance":"Hello \u00e9 😀","start_offset_ms":0,"end_offset_ms":1200,"filler_utterance":true}"#,
            #"{"type":"transcript","call_id":"c","speaker":"USER","utterance":"Hi","timestamp":"2024-01-15T14:20:02Z"}"#,
        ]
        var groups: [AgentRecordKind: [[UInt8]]] = [:]
        for line in lines {
            let r = try record(line)
            let start = RecordSplice.offsetMs(r.start, answeredAtEpochMs: answered)
            let end = r.end.map { RecordSplice.offsetMs($0, answeredAtEpochMs: answered) }
            groups[r.kind, default: []].append(RecordSplice.object(startOffsetMs: start, endOffsetMs: end, fragment: r.fragment))
        }
        let metadata = try record(#"{"type":"metadata","call_id":"c","metadata":{"tier":"premium"}}"#).fragment
        let tags = try record(#"{"type":"tags","call_id":"c","tags":["vip"]}"#).fragment
        func array(_ items: [[UInt8]]?) -> String { "[" + (items ?? []).map(text).joined(separator: ",") + "]" }
        let body = #"{"simulation_result_id":"x","tool_calls":\#(array(groups[.toolCall])),"events":\#(array(groups[.event])),"#
            + #""recorded_transcript":\#(array(groups[.transcript])),"tags":\#(text(tags)),"metadata":\#(text(metadata))}"#
        XCTAssertTrue(body.contains(#"{"start_offset_ms":250,"name":"lookup_order","description":"Look up","parameters":{"order_id":"ORD-2024-001"},"output":{"status":"shipped","total":1500.00}}"#), body)
        XCTAssertTrue(body.contains(#"{"start_offset_ms":0,"name":"early","output":null}"#), body)
        XCTAssertTrue(body.contains(#"{"start_offset_ms":3000,"title":"instant"}"#), body)
        XCTAssertTrue(body.contains(#"{"start_offset_ms":2000,"end_offset_ms":2000,"speaker":"USER","utterance":"Hi"}"#), body)
        try SchemaValidator.validate(body: body)
    }

    /// The validator itself must reject a body that breaks the schema, or the test above proves nothing.
    func testSchemaValidatorRejectsBadBody() throws {
        XCTAssertThrowsError(try SchemaValidator.validate(body: #"{"simulation_result_id":"x","tool_calls":[{"start_offset_ms":-1,"name":"n"}]}"#)) {
            XCTAssertTrue("\($0)".contains("schema validation failed") && "\($0)".contains("minimum"), "\($0)")
        }
    }
}
