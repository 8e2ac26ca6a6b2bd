import Metrics

/// Per-source limits on new calls (initial INVITEs), keyed by the source IP address:
/// - a token bucket of `invitesPerSecond` new INVITEs a second, bursts up to the same number
///   (over it: 503 with Retry-After = seconds until the next token);
/// - at most `callsPerSource` calls ringing or active at once (over it: 503 with Retry-After 5).
/// In-dialog requests, ACK, CANCEL and OPTIONS are never limited: they belong to calls already taken.
///
/// State is bounded: a source is forgotten once it has no live call and its bucket is full again (checked
/// each sweep), and at most `maxSources` are tracked. While the table is full of busy sources, a new source's
/// INVITE is refused (503) rather than growing memory: a flood of spoofed addresses costs a bounded table.
/// Confined to the SIP event loop, like the user agent.
public final class SourceLimiter {
    public struct Config: Sendable, Equatable {
        /// New INVITEs a second per source; 0 turns the rate limit off.
        public var invitesPerSecond: Int = 0
        /// Calls ringing or active at once per source; 0 turns the limit off.
        public var callsPerSource: Int = 0
        /// Most sources tracked at once.
        public var maxSources: Int = 65_536

        public init(invitesPerSecond: Int = 0, callsPerSource: Int = 0, maxSources: Int = 65_536) {
            self.invitesPerSecond = invitesPerSecond
            self.callsPerSource = callsPerSource
            self.maxSources = maxSources
        }

        public var isOn: Bool { invitesPerSecond > 0 || callsPerSource > 0 }
    }

    /// What to do with a new INVITE.
    public enum Verdict: Equatable, Sendable {
        case admit
        case rateLimited(retryAfterSeconds: Int)
        case tooManyCalls
        case tableFull

        /// The 503 to answer with, nil for `admit`.
        public var refusal: (status: Int, reason: String, retryAfterSeconds: Int)? {
            switch self {
            case .admit: return nil
            case .rateLimited(let seconds): return (503, "Source Rate Limited", seconds)
            case .tooManyCalls: return (503, "Too Many Calls From Source", 5)
            case .tableFull: return (503, "Service Unavailable", 5)
            }
        }
    }

    struct Source {
        var tokens: Double
        var refilledAtMs: Int64
        var liveCalls = 0
    }

    public var config: Config {
        didSet { if !config.isOn { sources.removeAll(); callSources.removeAll() } }
    }
    private(set) var sources: [String: Source] = [:]
    /// Admitted calls still live, and their source: what `callEnded` gives back.
    private var callSources: [String: String] = [:]
    /// A full table is swept inline at most once a second, so a flood of new sources costs no sweep per INVITE.
    private var lastFullSweepMs: Int64 = .min
    private let trackedGauge = Gauge(label: "bluejay_sidecar_sip_sources_tracked")

    public init(config: Config) {
        self.config = config
        SIPRefusals.register()
    }

    public var trackedSources: Int { sources.count }
    public var trackedCalls: Int { callSources.count }

    /// Decides on a new INVITE from `source`; an admitted call counts against the source until `callEnded`.
    public func admit(callID: String, source: String, nowMs: Int64) -> Verdict {
        guard config.isOn else { return .admit }
        var entry: Source
        if let existing = sources[source] {
            entry = existing
            refill(&entry, nowMs: nowMs)
        } else {
            if sources.count >= config.maxSources {
                if lastFullSweepMs == .min || nowMs - lastFullSweepMs >= 1_000 {
                    lastFullSweepMs = nowMs
                    sweep(nowMs: nowMs)
                }
                if sources.count >= config.maxSources {
                    SIPRefusals.sourceTableFull.increment()
                    return .tableFull
                }
            }
            entry = Source(tokens: Double(config.invitesPerSecond), refilledAtMs: nowMs)
        }
        defer { sources[source] = entry }
        if config.callsPerSource > 0 && entry.liveCalls >= config.callsPerSource {
            SIPRefusals.sourceCalls.increment()
            return .tooManyCalls
        }
        if config.invitesPerSecond > 0 {
            guard entry.tokens >= 1 else {
                SIPRefusals.rateLimited.increment()
                let seconds = (1 - entry.tokens) / Double(config.invitesPerSecond)
                return .rateLimited(retryAfterSeconds: max(1, Int(seconds.rounded(.up))))
            }
            entry.tokens -= 1
        }
        if config.callsPerSource > 0, callSources[callID] == nil {
            entry.liveCalls += 1
            callSources[callID] = source
        }
        return .admit
    }

    /// The call is over: its source may take another.
    public func callEnded(_ callID: String) {
        guard let source = callSources.removeValue(forKey: callID) else { return }
        sources[source]?.liveCalls -= 1
    }

    /// Forgets idle sources (no live call, bucket full again) and gives back calls `isLive` no longer knows
    /// (a safety net: every end should come through `callEnded`). Run about once a second.
    public func sweep(nowMs: Int64, isLive: ((String) -> Bool)? = nil) {
        if let isLive {
            for (callID, _) in callSources where !isLive(callID) { callEnded(callID) }
        }
        let full = Double(config.invitesPerSecond)
        sources = sources.filter { _, source in
            var s = source
            refill(&s, nowMs: nowMs)
            return s.liveCalls > 0 || s.tokens < full
        }
        trackedGauge.record(sources.count)
    }

    private func refill(_ source: inout Source, nowMs: Int64) {
        let rate = Double(config.invitesPerSecond)
        guard rate > 0, nowMs > source.refilledAtMs else { return }
        source.tokens = min(rate, source.tokens + Double(nowMs - source.refilledAtMs) * rate / 1000)
        source.refilledAtMs = nowMs
    }
}
