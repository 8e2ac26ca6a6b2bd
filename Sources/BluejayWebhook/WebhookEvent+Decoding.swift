/// One reader per known variant; each checks the variant's required fields (schema `$defs`
/// `WebhookSimulationResultEvaluated`, `WebhookObservabilityCallEvaluated`,
/// `WebhookSimulationResultEnded`, `WebhookOutboundSimulationStarted`) and the fields we use.
///
/// Deliberately not checked: enum membership of `status` and `role` (a new value from Bluejay must
/// not turn its deliveries into 400s), string formats, and fields we neither require nor read.
extension WebhookEvent {
    static func read(_ kind: WebhookKind, _ body: WebhookObject) throws(WebhookError) -> WebhookEvent {
        switch kind {
        case .simulationResultEvaluated: return try simulationResultEvaluated(body)
        case .observabilityCallEvaluated: return try observabilityCallEvaluated(body)
        case .simulationEnded: return try simulationEnded(body)
        case .outboundSimulationStarted: return try outboundSimulationStarted(body)
        }
    }

    private static func simulationResultEvaluated(_ body: WebhookObject) throws(WebhookError) -> WebhookEvent {
        let id = try body.required("id").integerID()
        for key in ["digital_human_id", "simulation_run_id", "simulation_id", "agent_id"] {
            _ = try body.required(key).integerID()
        }
        // `status` is an enum, not nullable, with a default: optional, a string when present.
        let status = try body.member("status")?.string()
        let figures = try EvaluationFigures.read(evaluations: body.member("evaluations"), status: status)
        let toolCalls = try ToolCallsJSON.read(body.member("tool_calls"))
        return .simulationResultEvaluated(simulationResultID: id, figures: figures, toolCallsJSON: toolCalls)
    }

    private static func observabilityCallEvaluated(_ body: WebhookObject) throws(WebhookError) -> WebhookEvent {
        let id = try body.required("id").stringID()
        _ = try body.required("agent_id").stringID()
        _ = try body.required("recording_url").stringOrNull()
        _ = try body.required("start_time_utc").string()
        for p in try body.required("participants").elements() {
            _ = try p.object().required("role").string()
        }
        let status = try body.required("status").string()
        let figures = try EvaluationFigures.read(evaluations: body.member("evaluations"), status: status)
        let toolCalls = try ToolCallsJSON.read(body.member("tool_calls"))
        return .observabilityCallEvaluated(callID: id, figures: figures, toolCallsJSON: toolCalls)
    }

    private static func simulationEnded(_ body: WebhookObject) throws(WebhookError) -> WebhookEvent {
        let id = try body.required("id").integerID()
        _ = try body.required("digital_human_id").integerID()
        _ = try body.required("simulation_run_id").integerID()
        let status = try body.member("status")?.string()
        return .simulationEnded(simulationResultID: id, status: status)
    }

    private static func outboundSimulationStarted(_ body: WebhookObject) throws(WebhookError) -> WebhookEvent {
        _ = try body.required("agent_id").integerID()
        _ = try body.required("simulation_id").integerID()
        let runID = try body.required("simulation_run_id").integerID()
        var humans: [DigitalHumanNumbers] = []
        for h in try body.required("digital_humans").elements() {
            humans.append(try DigitalHumanNumbers.read(h))
        }
        return .outboundSimulationStarted(simulationRunID: runID, digitalHumans: humans)
    }
}
