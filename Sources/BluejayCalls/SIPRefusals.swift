import Metrics

/// `bluejay_sidecar_sip_refused_total{reason}`: SIP refused by the source checks (`--sip-allow`,
/// `--sip-rate-limit`, `--sip-calls-per-source`). Created once, so the hot path only increments.
public enum SIPRefusals {
    /// Datagrams dropped and connections closed because the source is not in `--sip-allow`.
    public static let notAllowed = counter("not_allowed")
    /// New INVITEs over the source's rate (answered 503 with Retry-After).
    public static let rateLimited = counter("rate_limited")
    /// New INVITEs from a source at its concurrent-call limit (answered 503 with Retry-After).
    public static let sourceCalls = counter("source_calls")
    /// New INVITEs from a new source while the per-source table is full (a flood of sources; answered 503).
    public static let sourceTableFull = counter("source_table_full")

    /// Exports every series (at 0) from the start, not from the first refusal.
    public static func register() { _ = (notAllowed, rateLimited, sourceCalls, sourceTableFull) }

    private static func counter(_ reason: String) -> Counter {
        Counter(label: "bluejay_sidecar_sip_refused_total", dimensions: [("reason", reason)])
    }
}
