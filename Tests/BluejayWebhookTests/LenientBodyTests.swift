import BluejayTestSupport
import BluejayWebhook
import XCTest

/// Forms the decoder accepts: JSON Schema's idea of an integer, nulls the schema allows,
/// kinds Bluejay may add, and the deliberate leniencies (string ids, unknown enum values).
final class LenientBodyTests: XCTestCase {
    private func decode(_ body: String) throws -> WebhookEvent {
        try WebhookDecoder.decode(Array(body.utf8)).get()
    }

    private func ended(id: String) -> String {
        #"{"type": "simulation_ended", "id": \#(id), "digital_human_id": 1, "simulation_run_id": 2}"#
    }

    /// `123.0` and `1.23e2` are integers to JSON Schema, so they are ids, rendered as "123".
    func testIntegerIdsInAnyNumberSpelling() throws {
        let spellings = ["123": "123", "123.0": "123", "1.23e2": "123", "-0": "0", "0.0": "0",
                         "9223372036854775807": "9223372036854775807",
                         "123456789012345678901234567890": "123456789012345678901234567890"]
        for (json, text) in spellings {
            XCTAssertEqual(try decode(ended(id: json)), .simulationEnded(simulationResultID: text, status: nil), json)
        }
        for verdict in try SchemaValidator.violations(bodies: spellings.keys.map(ended(id:)), schemaName: FixtureSchemaTests.schema) {
            XCTAssertNil(verdict)
        }
    }

    /// Ids are checked against the schema's types (integers, strings for the observability event), so our
    /// 400s agree with the schema Bluejay publishes.
    func testIdsOfTheWrongTypeAreRefused() throws {
        XCTAssertThrowsError(try decode(ended(id: #""sr_42""#))) { XCTAssertEqual(($0 as? WebhookError)?.field, "id") }
        let outbound = #"{"type": "outbound_simulation_started", "agent_id": 1, "simulation_id": 2, "simulation_run_id": 3, "digital_humans": [{"id": 1, "name": "n", "phone_number": "0044 20 7946 0958", "associated_simulation_result_ids": [5, "6", 7.0]}]}"#
        XCTAssertThrowsError(try decode(outbound)) {
            XCTAssertEqual(($0 as? WebhookError)?.field, "digital_humans[0].associated_simulation_result_ids[1]")
        }
        let fine = outbound.replacingOccurrences(of: #", "6", 7.0]"#, with: ", 7.0]")
        XCTAssertEqual(try decode(fine), .outboundSimulationStarted(simulationRunID: "3", digitalHumans: [
            DigitalHumanNumbers(phoneNumber: "0044 20 7946 0958", simulationResultIDs: ["5", "7"]),
        ]))
    }

    /// A status Bluejay adds later must not turn its deliveries into 400s.
    func testUnlistedStatusIsKept() throws {
        let body = #"{"type": "simulation_ended", "id": 1, "digital_human_id": 1, "simulation_run_id": 2, "status": "ARCHIVED"}"#
        XCTAssertEqual(try decode(body), .simulationEnded(simulationResultID: "1", status: "ARCHIVED"))
    }

    func testNullsTheSchemaAllows() throws {
        let body = #"{"type": "simulation_result_evaluated", "id": 7, "digital_human_id": 1, "simulation_run_id": 1, "simulation_id": 1, "agent_id": 1, "evaluations": null, "tool_calls": null}"#
        XCTAssertEqual(try decode(body), .simulationResultEvaluated(simulationResultID: "7", figures: EvaluationFigures(),
                                                                    toolCallsJSON: Array("[]".utf8)))
        let observed = #"{"type": "observability_call_evaluated", "id": "c1", "agent_id": "a", "recording_url": null, "start_time_utc": "t", "participants": [], "status": "COMPLETED", "evaluations": [{"agent_speak_percentage": null, "avg_agent_latency": null, "latency": {"avg_agent_latency": 850.5, "p50_agent_latency": null}, "goal_success": null}]}"#
        let figures = EvaluationFigures(avgAgentLatencyMs: 850.5, status: "COMPLETED")
        XCTAssertEqual(try decode(observed), .observabilityCallEvaluated(callID: "c1", figures: figures, toolCallsJSON: Array("[]".utf8)))
        for verdict in try SchemaValidator.violations(bodies: [body, observed], schemaName: FixtureSchemaTests.schema) {
            XCTAssertNil(verdict)
        }
    }

    /// Tool calls come back byte for byte (`1500.00` stays `1500.00`), for forwarding without re-encoding.
    func testToolCallsKeepTheirBytes() throws {
        let calls = #"[{"name":"refund","start_offset_ms":3.0e3,"parameters":{"amount":1500.00},"output":{"ok":true}}]"#
        let body = #"{"type": "simulation_result_evaluated", "id": 7, "digital_human_id": 1, "simulation_run_id": 1, "simulation_id": 1, "agent_id": 1, "tool_calls": \#(calls)}"#
        XCTAssertEqual(try decode(body), .simulationResultEvaluated(simulationResultID: "7", figures: EvaluationFigures(),
                                                                    toolCallsJSON: Array(calls.utf8)))
    }

    func testUnknownTypeIsAcknowledgedWithoutFurtherChecks() throws {
        let body = #"{"type": "call_transcribed", "id": {"anything": [1, 2]}}"#
        XCTAssertEqual(try decode(body), .unknown(type: "call_transcribed"))
        XCTAssertNil(try decode(body).kind)
        try SchemaValidator.validate(body: body, schemaName: FixtureSchemaTests.schema)
    }

    func testKindsMatchTheirTypeStrings() {
        XCTAssertEqual(WebhookKind.allCases.map(\.rawValue),
                       ["simulation_result_evaluated", "observability_call_evaluated", "simulation_ended", "outbound_simulation_started"])
    }
}
