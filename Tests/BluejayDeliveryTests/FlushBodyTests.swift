import BluejayAgentProtocol
import BluejayJSON
@testable import BluejayDelivery
import BluejayStore
import BluejayTestSupport
import Foundation
import XCTest

final class FlushBodyTests: XCTestCase {
    private let answered: Int64 = 1_705_328_400_000 // 2024-01-15T14:20:00Z

    private func call(answeredAt: Int64? = 1_705_328_400_000) -> StoredCall {
        StoredCall(callID: "c1@pbx", simulationResultID: "sim-9", fromHeader: "\"Caller\" <sip:c@x>;tag=1",
                   toHeader: "<sip:a@y>;tag=2", localTag: "2", remoteTag: "1", invitedAtMs: answered - 500,
                   answeredAtMs: answeredAt, endedAtMs: answered + 61_000, endedBy: "caller", endReason: "bye",
                   state: .ended, sipHeadersJSON: Array(#"{"X-Simulation-Result-Id":"sim-9","X-Trunk":"t1"}"#.utf8))
    }

    private func record(_ line: String) throws -> StoredRecord {
        guard case .success(.record(let r)) = AgentLine.decode(Array(line.utf8)[...], arrivalEpochMs: answered + 5_000) else {
            XCTFail("line did not decode: \(line)")
            throw NSError(domain: "t", code: 1)
        }
        func split(_ t: RecordTime) -> (Bool, Int64) {
            switch t { case .offsetMs(let v): return (true, v); case .epochMs(let v): return (false, v) }
        }
        let s = split(r.start)
        let e = r.end.map(split)
        return StoredRecord(kind: r.kind.rawValue, startIsOffset: s.0, startValue: s.1, endIsOffset: e?.0, endValue: e?.1, fragment: r.fragment)
    }

    private func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    func testBodyValidatesAndCarriesEveryRecordVerbatim() throws {
        let records = try [
            record(#"{"type":"tool_call","call_id":"c1@pbx","name":"lookup_order","parameters":{"order_id":"ORD-1"},"output":{"total":1500.00},"timestamp":"2024-01-15T14:20:02.250Z"}"#),
            record(#"{"type":"tool_call","call_id":"c1@pbx","tool_name":"refund","result":"ok","start_offset_ms":7000}"#),
            record(#"{"type":"event","call_id":"c1@pbx","title":"escalated","start_offset_ms":100,"end_offset_ms":300,"tags":["x"]}"#),
            record(#"{"type":"transcript","call_id":"c1@pbx","speaker":"USER","utterance":"hi","start_offset_ms":10,"end_offset_ms":900}"#),
            record(#"{"type":"metadata","call_id":"c1@pbx","metadata":{"tier":"gold","sip_call_id":"agent-spoof"}}"#),
            record(#"{"type":"metadata","call_id":"c1@pbx","metadata":{"tier":"platinum"}}"#),
            record(#"{"type":"tags","call_id":"c1@pbx","tags":["a","b"]}"#),
            record(#"{"type":"tags","call_id":"c1@pbx","tags":["b","c"]}"#),
            record(#"{"type":"tool_call","call_id":"c1@pbx","name":"no_time"}"#),
        ]
        let body = FlushBody.build(call: call(), simulationResultID: "sim-9", records: records)
        let text = String(decoding: body, as: UTF8.self)
        try SchemaValidator.validate(body: text)
        XCTAssertTrue(text.contains(#""output":{"total":1500.00}"#), "raw JSON kept byte for byte: \(text)")

        let json = try object(body)
        XCTAssertEqual(json["simulation_result_id"] as? String, "sim-9")
        let tools = try XCTUnwrap(json["tool_calls"] as? [[String: Any]])
        XCTAssertEqual(tools.map { $0["name"] as? String }, ["lookup_order", "refund", "no_time"])
        XCTAssertEqual(tools.map { $0["start_offset_ms"] as? Int }, [2_250, 7_000, 5_000], "timestamp, offset, arrival")
        XCTAssertEqual(tools[1]["output"] as? String, "ok", "result → output")
        let events = try XCTUnwrap(json["events"] as? [[String: Any]])
        XCTAssertEqual(events.first?["end_offset_ms"] as? Int, 300)
        XCTAssertEqual((json["recorded_transcript"] as? [[String: Any]])?.first?["speaker"] as? String, "USER")
        XCTAssertEqual(json["tags"] as? [String], ["a", "b", "c"])
        let metadata = try XCTUnwrap(json["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["tier"] as? String, "platinum", "later metadata wins")
        XCTAssertEqual(metadata["sip_call_id"] as? String, "c1@pbx", "the sidecar's facts win over the agent's")
        XCTAssertEqual(metadata["duration_ms"] as? Int, 61_000)
        XCTAssertEqual(metadata["ended_by"] as? String, "caller")
        XCTAssertEqual(metadata["answered_at"] as? String, "2024-01-15T14:20:00.000Z")
        XCTAssertEqual((metadata["sip_headers"] as? [String: String])?["X-Trunk"], "t1")
    }

    func testRecordsBeforeTheAnswerClampToZeroAndUnansweredCallsCountFromInvite() throws {
        let early = try record(#"{"type":"tool_call","call_id":"c1@pbx","name":"early","timestamp":"2024-01-15T14:19:00Z"}"#)
        var body = try object(FlushBody.build(call: call(), simulationResultID: "sim-9", records: [early]))
        XCTAssertEqual((body["tool_calls"] as? [[String: Any]])?.first?["start_offset_ms"] as? Int, 0)

        let late = try record(#"{"type":"tool_call","call_id":"c1@pbx","name":"while_ringing","timestamp":"2024-01-15T14:20:00Z"}"#)
        let unanswered = FlushBody.build(call: call(answeredAt: nil), simulationResultID: "sim-9", records: [late])
        try SchemaValidator.validate(body: String(decoding: unanswered, as: UTF8.self))
        body = try object(unanswered)
        XCTAssertEqual((body["tool_calls"] as? [[String: Any]])?.first?["start_offset_ms"] as? Int, 500, "from the INVITE")
        XCTAssertTrue((body["metadata"] as? [String: Any])?["answered_at"] is NSNull)
    }

    /// With no agent metadata the sidecar's own object goes in as written: the same bytes the merge made of it.
    func testMetadataWithoutAgentKeysIsTheSidecarsObjectAsWritten() throws {
        let event = try record(#"{"type":"event","call_id":"c1@pbx","title":"escalated","start_offset_ms":100}"#)
        let body = FlushBody.build(call: call(), simulationResultID: "sim-9", records: [event])
        try SchemaValidator.validate(body: String(decoding: body, as: UTF8.self))
        let own = FlushBody.sidecarMetadata(call())
        let merged = JSONObjectMerge.merge([try RawJSON.parse(own)])
        XCTAssertEqual(String(decoding: own, as: UTF8.self), String(decoding: merged, as: UTF8.self))
        let text = String(decoding: body, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix(#","metadata":"# + String(decoding: own, as: UTF8.self) + "}"), text)
        let metadata = try XCTUnwrap(try object(body)["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["sip_call_id"] as? String, "c1@pbx")
        XCTAssertEqual((metadata["sip_headers"] as? [String: String])?["X-Trunk"], "t1")
    }

    func testEmptyCallStillValidates() throws {
        let body = FlushBody.build(call: call(), simulationResultID: "sim-9", records: [])
        try SchemaValidator.validate(body: String(decoding: body, as: UTF8.self))
        XCTAssertEqual((try object(body)["tool_calls"] as? [Any])?.count, 0)
    }
}
