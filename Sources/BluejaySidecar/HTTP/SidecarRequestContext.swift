import Hummingbird
import NIOCore

/// Request context that knows the peer, so admin routes can be kept to loopback when no token is set.
struct SidecarRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    var isLoopbackPeer: Bool {
        switch remoteAddress {
        case .v4(let a)?: return a.host.hasPrefix("127.")
        case .v6(let a)?: return a.host == "::1" || a.host.hasPrefix("::ffff:127.")
        case .unixDomainSocket?: return true
        default: return false
        }
    }
}
