/// Knobs of the user agent server, with RFC 3261 / RFC 4028 defaults.
public struct UASConfig: Sendable {
    /// Calls ringing or active at once; more get 503.
    public var maxCalls: Int = 10_000
    /// Ring this long (sending 180) before answering; 0 answers at once.
    public var ringMs: Int64 = 0
    /// Host for Contact and SDP; nil → the Request-URI's host.
    public var advertisedHost: String?
    public var userAgent: String = "bluejay-sidecar"
    /// RFC 4028 Min-SE we accept.
    public var minSessionExpires: Int = 90
    public var t1Ms: Int64 = 500
    public var t2Ms: Int64 = 4_000
    /// Record SIP-derived events (answered, DTMF, hold/resume, transfer, ended) for each call's flush.
    public var sipEvents = true

    public init() {}

    /// Timer H / J: how long a transaction's last response is kept for retransmissions (64·T1).
    public var transactionLingerMs: Int64 { 64 * t1Ms }
}
