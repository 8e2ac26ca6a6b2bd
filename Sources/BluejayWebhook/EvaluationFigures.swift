/// Figures worth exporting from an evaluation (the first element of `evaluations[]`, where present).
///
/// Bluejay's schema gives the latencies as bare numbers without a unit; we treat them as
/// milliseconds (hence the names) because that is the unit of every other duration it sends
/// (`start_offset_ms`, `duration_ms`). Every field is nil when the body does not carry it.
public struct EvaluationFigures: Equatable, Sendable {
    public var goalSuccess: Bool?
    public var hallucination: Bool?
    /// `evaluations[0].avg_agent_latency`, else `evaluations[0].latency.avg_agent_latency`.
    public var avgAgentLatencyMs: Double?
    /// `evaluations[0].latency.p50_agent_latency`.
    public var p50AgentLatencyMs: Double?
    /// `evaluations[0].latency.p90_agent_latency`.
    public var p90AgentLatencyMs: Double?
    /// The top-level `status` as sent (not checked against Bluejay's enum, which may grow).
    public var status: String?

    public init(goalSuccess: Bool? = nil, hallucination: Bool? = nil, avgAgentLatencyMs: Double? = nil,
                p50AgentLatencyMs: Double? = nil, p90AgentLatencyMs: Double? = nil, status: String? = nil) {
        self.goalSuccess = goalSuccess
        self.hallucination = hallucination
        self.avgAgentLatencyMs = avgAgentLatencyMs
        self.p50AgentLatencyMs = p50AgentLatencyMs
        self.p90AgentLatencyMs = p90AgentLatencyMs
        self.status = status
    }
}
