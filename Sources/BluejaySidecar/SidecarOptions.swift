import BluejayCalls
import BluejayDelivery

/// The sidecar's resolved settings: everything the runtime needs, already validated.
public struct SidecarOptions: Sendable {
    /// `uas`: answer calls. `mirror`: follow copies of the signalling (HEP v3 or plain SIP), answering nothing.
    /// `proxy`: relay between callers and the agent's SIP endpoint (RFC 3261 §16), following calls on the way.
    public enum Mode: String, Sendable { case uas, mirror, proxy }

    public var mode: Mode = .uas
    public var sipListeners: [ListenAddress] = ListenAddress.defaults
    /// Mode `proxy`: the agent's SIP endpoint, `sip:HOST:PORT[;transport=tcp]` (numeric host).
    public var upstream: String?
    /// Where mode `mirror` receives its copies.
    public var mirrorListeners: [ListenAddress] = [ListenAddress(transport: .udp, host: "0.0.0.0", port: 9060)]
    public var socketPath: String
    public var dataDirectory: String = "./bluejay-sidecar-data"
    public var bluejayURL: String = "https://api.getbluejay.ai"
    /// Nil → dry-run.
    public var apiKey: String?
    public var dryRunDirectory: String?
    public var lingerMs: Int64 = 2_000
    /// A call up longer than this (counted from its INVITE) is ended by the sidecar and flushed.
    public var maxCallDurationMs: Int64 = 4 * 3_600_000
    public var uas = UASConfig()
    public var retry = RetryPolicy()
    public var httpTimeoutMs: Int = 10_000
    /// A peer that begins a message (HTTP request, SIP over TCP) must finish it within this time, so a stalled
    /// or trickling client cannot hold a connection and its buffer; idle HTTP connections close after it too.
    public var readTimeoutSeconds: Int = 20
    public var maxInFlightDeliveries: Int = 16
    /// The HTTP listener (webhook, admin API, metrics, status page); nil turns it off.
    public var http: (host: String, port: Int)? = ("127.0.0.1", 9090)
    /// Bearer token for admin routes; without one they answer loopback peers only.
    public var adminToken: String?
    /// Flushed calls' records and delivered bodies are kept this long, then pruned (dead letters are kept).
    public var retentionDays: Int = 7
    /// Bluejay's webhook secret (`x-webhook-secret`); without one the webhook takes any caller.
    public var webhookSecret: String?
    /// `--sip-allow`: the only source networks SIP is taken from (mode proxy adds the upstream); empty allows all.
    var sipAllow: [IPPrefix] = []
    /// `--sip-rate-limit`, `--sip-calls-per-source`: per-source limits on new calls (off by default).
    public var sourceLimits = SourceLimiter.Config()
    /// `--tls-cert`, `--tls-key`: the identity of `tls://` listeners.
    var tls: SIPTLSIdentity?
    /// `--socket-allow-uid` / `--socket-allow-gid`: agent socket peers (by their credentials at accept) allowed in
    /// besides what the socket's mode 0660 lets connect; both empty: no check.
    public var socketAllowUIDs: [UInt32] = []
    public var socketAllowGIDs: [UInt32] = []

    public init(socketPath: String = SidecarOptions.defaultSocketPath) {
        self.socketPath = socketPath
    }

    /// `$XDG_RUNTIME_DIR/bluejay-sidecar.sock`, else `/tmp/bluejay-sidecar.sock`.
    public static var defaultSocketPath: String {
        if let dir = ProcessEnvironment.value("XDG_RUNTIME_DIR"), !dir.isEmpty { return dir + "/bluejay-sidecar.sock" }
        return "/tmp/bluejay-sidecar.sock"
    }

    public var storePath: String { dataDirectory + "/sidecar.sqlite" }
    public var effectiveDryRunDirectory: String { dryRunDirectory ?? dataDirectory + "/dry-run" }
}

enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}

#if canImport(Glibc)
import Glibc
#endif
