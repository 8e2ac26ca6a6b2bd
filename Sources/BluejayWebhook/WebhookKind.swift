/// The four event kinds Bluejay documents; the raw value is the body's `type`.
/// Anything else decodes to `WebhookEvent.unknown`, since Bluejay may add kinds.
public enum WebhookKind: String, Sendable, CaseIterable {
    case simulationResultEvaluated = "simulation_result_evaluated"
    case observabilityCallEvaluated = "observability_call_evaluated"
    case simulationEnded = "simulation_ended"
    case outboundSimulationStarted = "outbound_simulation_started"
}
