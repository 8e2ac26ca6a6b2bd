import BluejayCalls
import BluejaySIP

/// Which end of the proxy a message came from: the caller (Bluejay, a trunk: anything that is not the upstream)
/// or the upstream (the agent's PBX or UA).
public enum ProxySide: String, Sendable, Equatable {
    case caller, upstream

    public var opposite: ProxySide { self == .caller ? .upstream : .caller }
}

/// What the proxy needs from the world around it. Every callback runs on the proxy's own thread (the SIP event
/// loop), and the environment calls back into `ProxyCore` (`receive`, `sendFailed`, `connectionClosed`) on it too.
public protocol ProxyEnvironment: AnyObject {
    var nowMs: Int64 { get }

    /// Sends one message. `destination.peer.transport` is the transport; `destination.host`/`port` the address.
    /// `destination.peer.channelID` names the listener or connection to use when the core knows one (the connection a
    /// request came in on, for its responses; the UDP listener a request arrived on). When it is 0, or names a
    /// channel that is gone: UDP → send from the listener of the address family (so the source port is our advertised
    /// one); TCP → reuse an open connection to host:port or open one. A failure to send (connection refused, ICMP port
    /// unreachable, no route) is reported back with `ProxyCore.sendFailed(to:)`, synchronously or later.
    func send(_ bytes: [UInt8], to destination: SIPDestination)

    func schedule(afterMs: Int64, _ task: @escaping () -> Void) -> SIPTimer

    /// What the proxy received and acts on, either direction, before it acts on it: a request that opens a
    /// transaction (not its retransmissions, so an INFO's DTMF is one event), an ACK, and a response to a request
    /// the proxy sent (a stray response, dropped, is not shown).
    func observe(message: SIPMessage, from side: ProxySide)

    /// A response the proxy made itself (100 Trying, 200 to CANCEL, 408, 483, 503, 400) and sent to `side`.
    /// A call tracker uses it to see calls that failed without a final response from the other end.
    func generated(message: SIPMessage, to side: ProxySide)
}

extension ProxyEnvironment {
    public func generated(message: SIPMessage, to side: ProxySide) {}
}
