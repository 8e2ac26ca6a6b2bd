import Metrics

/// The SIP side's metrics, through swift-metrics (the application picks the backend).
enum SIPMetrics {
    static let activeCalls = Gauge(label: "bluejay_sidecar_active_calls")

    static func message(direction: String, method: String, code: Int) {
        Counter(label: "bluejay_sidecar_sip_messages_total",
                dimensions: [("direction", direction), ("method", method), ("code", code == 0 ? "" : String(code))]).increment()
    }

    static func callEnded(reason: String) {
        Counter(label: "bluejay_sidecar_calls_total", dimensions: [("outcome", reason)]).increment()
    }
}
