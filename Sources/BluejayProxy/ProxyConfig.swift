import BluejayCalls
import BluejaySIP

/// The agent's SIP endpoint, from `--upstream sip:HOST:PORT[;transport=tcp]`. Numeric hosts only (no DNS).
public typealias ProxyUpstream = SIPEndpoint

extension SIPEndpoint {
    /// nil when the URI does not parse, its host is not an IP address, or its transport is neither udp nor tcp.
    public init?(uri: String) {
        guard let parts = SIPURIParts.parse(uri), parts.scheme == "sip", SIPURIParts.isNumeric(parts.host),
              let transport = ProxyConfig.transport(parts.transport) else { return nil }
        self.init(transport: transport, host: parts.host, port: parts.port ?? 5060)
    }
}

/// Knobs of the proxy, with RFC 3261 defaults.
public struct ProxyConfig: Sendable {
    public var upstream: ProxyUpstream
    /// Host put in our Via and Record-Route; requests whose top Route or Request-URI name it (or one of
    /// `localHosts`) at one of our ports are addressed to us.
    public var advertisedHost: String
    public var udpPort: Int
    public var tcpPort: Int
    /// Other addresses that mean us in a Route or Request-URI (e.g. 127.0.0.1 besides the advertised address).
    public var localHosts: Set<String> = []
    /// Seeds our branches, so two proxies in a chain never derive the same one.
    public var instanceID: String = "bluejay-sidecar"
    /// Record-Route dialog-creating requests (INVITE, SUBSCRIBE, REFER) so in-dialog requests come back through us.
    public var recordRoute = true
    public var t1Ms: Int64 = 500
    public var t2Ms: Int64 = 4_000
    /// Timer C (RFC 3261 §16.6 step 11): an INVITE that had a provisional response but no final one is cancelled after this.
    public var timerCMs: Int64 = 180_000

    public init(upstream: ProxyUpstream, advertisedHost: String, udpPort: Int = 5060, tcpPort: Int = 5060) {
        self.upstream = upstream
        self.advertisedHost = advertisedHost
        self.udpPort = udpPort
        self.tcpPort = tcpPort
    }

    /// Timers B, F, and how long a finished transaction lingers for retransmissions (64·T1).
    public var transactionTimeoutMs: Int64 { 64 * t1Ms }

    public func port(for transport: SIPTransport) -> Int { transport == .udp ? udpPort : tcpPort }

    /// `transport` URI parameter → transport; nil for ones we do not speak (tls, sctp, ws).
    static func transport(_ parameter: String?) -> SIPTransport? {
        switch parameter {
        case nil, "udp": return .udp
        case "tcp": return .tcp
        default: return nil
        }
    }
}
