import BluejayWebhook
import Metrics

/// What a stored webhook event changes in the running sidecar.
struct WebhookActions: Sendable {
    let outbound: OutboundNumbers
    /// Ends and flushes the call of a simulation result whose data has not gone out (its BYE never came).
    let simulationEnded: @Sendable (String) -> Void

    func apply(_ event: WebhookEvent) {
        switch event {
        case .outboundSimulationStarted(_, let humans):
            for human in humans { outbound.add(e164: human.e164Digits, ids: human.simulationResultIDs) }
        case .simulationEnded(let id, _):
            simulationEnded(id)
        case .simulationResultEvaluated(_, let figures, _), .observabilityCallEvaluated(_, let figures, _):
            if let goal = figures.goalSuccess {
                Counter(label: "bluejay_sidecar_evaluation_goal_success_total", dimensions: [("result", String(goal))]).increment()
            }
            if let hallucination = figures.hallucination {
                Counter(label: "bluejay_sidecar_evaluation_hallucination_total", dimensions: [("result", String(hallucination))]).increment()
            }
            if let p50 = figures.p50AgentLatencyMs {
                Gauge(label: "bluejay_sidecar_evaluation_agent_latency_ms", dimensions: [("quantile", "p50")]).record(p50)
            }
            if let p90 = figures.p90AgentLatencyMs {
                Gauge(label: "bluejay_sidecar_evaluation_agent_latency_ms", dimensions: [("quantile", "p90")]).record(p90)
            }
        case .unknown:
            break
        }
    }

    /// An event whose body was stored before (Bluejay redelivers what it got no answer for): only what is safe
    /// to do twice runs again. Ending a simulation's call is (a flushed call is left alone), and it matters: a
    /// crash between storing the first delivery and keeping the flush it started leaves the call open, and the
    /// redelivery is what ends it. Outbound numbers are not added again: a call may have claimed one since.
    func applyAgain(_ event: WebhookEvent) {
        if case .simulationEnded(let id, _) = event { simulationEnded(id) }
    }
}
