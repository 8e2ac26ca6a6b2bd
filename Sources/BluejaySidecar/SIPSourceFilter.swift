import BluejayCalls
import Logging
import NIOCore

/// `--sip-allow`: the only source addresses SIP is taken from (the trunk's). Anything else is refused before a
/// byte is parsed: a UDP datagram is dropped unanswered, a TCP or TLS connection is closed at accept (before the
/// TLS handshake). Counted in `bluejay_sidecar_sip_refused_total{reason="not_allowed"}` and logged at debug, at
/// most once per `logEveryMs` with the number left unlogged, so a flood cannot flood the log.
/// An empty list allows every source. Confined to the SIP event loop (no lock on the per-datagram path).
final class SIPSourceFilter {
    private var v4: [IPPrefix] = []
    private var v6: [IPPrefix] = []
    private(set) var allowsAll = true
    private let logger: Logger
    private let logEveryMs: Int64
    private var lastLogMs: Int64 = .min
    private var unlogged = 0

    init(allow: [IPPrefix], logger: Logger, logEveryMs: Int64 = 10_000) {
        self.logger = logger
        self.logEveryMs = logEveryMs
        self.allow = allow
        split()
    }

    /// Replaced on SIGHUP (on the SIP loop).
    var allow: [IPPrefix] { didSet { split() } }

    private func split() {
        v4 = allow.filter { $0.family == .v4 }
        v6 = allow.filter { $0.family == .v6 }
        allowsAll = allow.isEmpty
    }

    /// True when SIP from `source` may be read; false (counted, maybe logged) when it is refused.
    func admits(_ source: SocketAddress?, transport: SIPTransport) -> Bool {
        if allowsAll { return true }
        if let source, let (high, low, family) = IPPrefix.key(of: source) {
            for prefix in family == .v4 ? v4 : v6 where prefix.contains(high: high, low: low, family: family) { return true }
        }
        SIPRefusals.notAllowed.increment()
        let now = Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) // monotonic: clock jumps cannot unleash it
        if lastLogMs == .min || now - lastLogMs >= logEveryMs {
            logger.debug("SIP refused: source not in sip_allow", metadata: [
                "source": "\(source?.ipAddress ?? "?")", "transport": "\(transport.rawValue.lowercased())",
                "refused_since_last_log": "\(unlogged)",
            ])
            lastLogMs = now
            unlogged = 0
        } else {
            unlogged += 1
        }
        return false
    }
}
