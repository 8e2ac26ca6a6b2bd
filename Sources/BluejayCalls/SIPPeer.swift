import BluejaySIP

public enum SIPTransport: String, Sendable, Equatable {
    case udp = "UDP", tcp = "TCP", tls = "TLS"

    public var isReliable: Bool { self != .udp }
}

/// A SIP transport address: a listener of ours, or the agent's endpoint the proxy relays to.
/// Each layer names it for its use (`ListenAddress`, `ProxyUpstream`) and parses its own syntax.
public struct SIPEndpoint: Equatable, Hashable, CustomStringConvertible, Sendable {
    public var transport: SIPTransport
    public var host: String
    public var port: Int

    public init(transport: SIPTransport, host: String, port: Int) {
        self.transport = transport
        self.host = host
        self.port = port
    }

    /// `udp://HOST:PORT`, IPv6 in brackets.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(transport.rawValue.lowercased())://\(h):\(port)"
    }
}

/// Where a message came from: enough to answer it the way RFC 3261 §18.2.2 says.
public struct SIPPeer: Equatable, Sendable {
    public var transport: SIPTransport
    /// Source address of the packet or connection (IPv6 without brackets).
    public var host: String
    public var port: Int
    /// The listener or connection it arrived on, as the transport layer numbers them.
    public var channelID: Int
    /// The local port it arrived on, for our Contact.
    public var localPort: Int

    public init(transport: SIPTransport, host: String, port: Int, channelID: Int, localPort: Int) {
        self.transport = transport
        self.host = host
        self.port = port
        self.channelID = channelID
        self.localPort = localPort
    }
}

/// Where to send a response: over the same connection, or to an address over UDP.
public struct SIPDestination: Equatable, Sendable {
    public var peer: SIPPeer
    public var host: String
    public var port: Int
    /// A response over a connection that has closed meanwhile goes over a new one to `host` at this port, the
    /// sent-by port of the request's Via (§18.2.2); the closed connection's own port was the peer's ephemeral one.
    public var reconnectPort: Int?

    public init(peer: SIPPeer, host: String, port: Int, reconnectPort: Int? = nil) {
        self.peer = peer
        self.host = host
        self.port = port
        self.reconnectPort = reconnectPort
    }

    /// The peer's own address, over the channel it came from.
    public static func to(_ peer: SIPPeer) -> SIPDestination { SIPDestination(peer: peer, host: peer.host, port: peer.port) }

    /// RFC 3261 §18.2.2 with RFC 3581: reliable → the same connection; UDP → `maddr` if present (an address,
    /// `SIPVia.addressMaddr`), else the source address, at the source port when `rport` was asked for, else at the
    /// sent-by port (5060 by default).
    public static func forResponse(via: SIPVia, from peer: SIPPeer) -> SIPDestination {
        if peer.transport.isReliable {
            return SIPDestination(peer: peer, host: peer.host, port: peer.port,
                                  reconnectPort: via.port ?? (peer.transport == .tls ? 5061 : 5060))
        }
        if let maddr = via.addressMaddr {
            return SIPDestination(peer: peer, host: maddr, port: via.port ?? 5060)
        }
        if via.rport != .absent {
            return SIPDestination(peer: peer, host: peer.host, port: peer.port)
        }
        return SIPDestination(peer: peer, host: peer.host, port: via.port ?? 5060)
    }

    /// The `received` value to add to the response's top Via (§18.2.1, and always when rport was asked for).
    public static func received(via: SIPVia, from peer: SIPPeer) -> String? {
        (via.host != peer.host || via.rport != .absent) ? peer.host : nil
    }
}
