/// Reading `evaluations[]` (schema `Evaluation`): every element is checked for what the schema
/// requires and for the fields we export; the figures come from the first element.
extension EvaluationFigures {
    static func read(evaluations: WebhookField?, status: String?) throws(WebhookError) -> EvaluationFigures {
        var figures = EvaluationFigures(status: status)
        let items = try evaluations?.elementsOrNull() ?? []
        for (n, item) in items.enumerated() {
            let e = try item.object()
            // Both required by the schema, though nullable.
            let avg = try e.required("avg_agent_latency").numberOrNull()
            _ = try e.required("agent_speak_percentage").numberOrNull()
            let goal = try e.member("goal_success")?.boolOrNull()
            let hallucination = try e.member("hallucination")?.boolOrNull()
            var latency: WebhookObject?
            if let l = try e.present("latency") { latency = try l.object() }
            let latencyAvg = try latency?.member("avg_agent_latency")?.numberOrNull()
            let p50 = try latency?.member("p50_agent_latency")?.numberOrNull()
            let p90 = try latency?.member("p90_agent_latency")?.numberOrNull()
            guard n == 0 else { continue }
            figures.goalSuccess = goal
            figures.hallucination = hallucination
            figures.avgAgentLatencyMs = avg ?? latencyAvg
            figures.p50AgentLatencyMs = p50
            figures.p90AgentLatencyMs = p90
        }
        return figures
    }
}
