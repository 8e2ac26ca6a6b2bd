import BluejayWebhook
import XCTest

/// Every example body in Bluejay's events-webhook.md decodes to its variant with the right fields.
final class FixtureDecodingTests: XCTestCase {
    func testSimulationResultEvaluated() throws {
        let event = try WebhookDecoder.decode(Fixture.simulationResultEvaluated.bytes).get()
        let figures = EvaluationFigures(goalSuccess: true, hallucination: true, avgAgentLatencyMs: 1.0,
                                        p50AgentLatencyMs: 1.0, p90AgentLatencyMs: 1.0, status: "INITIALIZING")
        XCTAssertEqual(event, .simulationResultEvaluated(simulationResultID: "123", figures: figures,
                                                         toolCallsJSON: try Fixture.simulationResultEvaluated.rawArray("tool_calls")))
        XCTAssertEqual(event.kind, .simulationResultEvaluated)
    }

    /// The page's first example: top-level `avg_agent_latency` (123) wins over `latency.avg_agent_latency` (0).
    func testSimulationResultEvaluatedPlaceholders() throws {
        let fixture = Fixture.simulationResultEvaluatedPlaceholders
        let event = try WebhookDecoder.decode(fixture.bytes).get()
        let figures = EvaluationFigures(goalSuccess: true, hallucination: true, avgAgentLatencyMs: 123,
                                        p50AgentLatencyMs: 0, p90AgentLatencyMs: 0, status: "COMPLETED")
        XCTAssertEqual(event, .simulationResultEvaluated(simulationResultID: "123", figures: figures,
                                                         toolCallsJSON: try fixture.rawArray("tool_calls")))
    }

    func testObservabilityCallEvaluated() throws {
        let event = try WebhookDecoder.decode(Fixture.observabilityCallEvaluated.bytes).get()
        let figures = EvaluationFigures(goalSuccess: true, hallucination: true, avgAgentLatencyMs: 1.0,
                                        p50AgentLatencyMs: 1.0, p90AgentLatencyMs: 1.0, status: "INITIALIZING")
        XCTAssertEqual(event, .observabilityCallEvaluated(callID: "string", figures: figures,
                                                          toolCallsJSON: try Fixture.observabilityCallEvaluated.rawArray("tool_calls")))
    }

    func testSimulationEnded() throws {
        let event = try WebhookDecoder.decode(Fixture.simulationEnded.bytes).get()
        XCTAssertEqual(event, .simulationEnded(simulationResultID: "123", status: "INITIALIZING"))
    }

    func testOutboundSimulationStarted() throws {
        let event = try WebhookDecoder.decode(Fixture.outboundSimulationStarted.bytes).get()
        let human = DigitalHumanNumbers(phoneNumber: "+15551234567", simulationResultIDs: ["123"])
        XCTAssertEqual(human.e164Digits, "15551234567")
        XCTAssertEqual(event, .outboundSimulationStarted(simulationRunID: "123", digitalHumans: [human]))
    }
}
