/// A decoded events-webhook body: only what the sidecar acts on, the rest stays in the stored body.
public enum WebhookEvent: Equatable, Sendable {
    /// `toolCallsJSON` is the raw `tool_calls` array exactly as sent, or `[]` when absent or null.
    case simulationResultEvaluated(simulationResultID: String, figures: EvaluationFigures, toolCallsJSON: [UInt8])
    case observabilityCallEvaluated(callID: String, figures: EvaluationFigures, toolCallsJSON: [UInt8])
    case simulationEnded(simulationResultID: String, status: String?)
    case outboundSimulationStarted(simulationRunID: String, digitalHumans: [DigitalHumanNumbers])
    /// A `type` outside the four: valid, acknowledged, not acted on.
    case unknown(type: String)

    /// The known kind, nil for `.unknown`.
    public var kind: WebhookKind? {
        switch self {
        case .simulationResultEvaluated: return .simulationResultEvaluated
        case .observabilityCallEvaluated: return .observabilityCallEvaluated
        case .simulationEnded: return .simulationEnded
        case .outboundSimulationStarted: return .outboundSimulationStarted
        case .unknown: return nil
        }
    }
}
