import Metrics

/// The SIP side's metrics, through swift-metrics (the application picks the backend).
///
/// Each counter is looked up in the backend once and kept: a lookup takes the backend's lock and hashes the
/// label and dimensions, which per message cost more than the rest of counting. One instance per owner,
/// confined to the owner's thread (the SIP event loop), like the owner itself.
final class SIPMetrics {
    static let activeCalls = Gauge(label: "bluejay_sidecar_active_calls")

    private struct MessageKey: Hashable {
        let outbound: Bool
        let method: String
        let code: Int
    }

    private var messages: [MessageKey: Counter] = [:]
    private var ended: [String: Counter] = [:]

    /// One SIP message in (`outbound` false) or out; `code` 0 for requests.
    func message(outbound: Bool, method: String, code: Int) {
        let key = MessageKey(outbound: outbound, method: method, code: code)
        if let counter = messages[key] {
            counter.increment()
            return
        }
        let counter = Counter(label: "bluejay_sidecar_sip_messages_total",
                              dimensions: [("direction", outbound ? "out" : "in"), ("method", method), ("code", code == 0 ? "" : String(code))])
        messages[key] = counter
        counter.increment()
    }

    func callEnded(reason: String) {
        if let counter = ended[reason] {
            counter.increment()
            return
        }
        let counter = Counter(label: "bluejay_sidecar_calls_total", dimensions: [("outcome", reason)])
        ended[reason] = counter
        counter.increment()
    }
}
