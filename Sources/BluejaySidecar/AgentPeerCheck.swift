import BluejayAgentProtocol
import Foundation
import Logging
import NIOCore

/// `--socket-allow-uid` / `--socket-allow-gid`: on top of the socket's mode 0660, a connecting process is let in
/// only when its uid or its (effective, primary) gid is listed, as the kernel reports them at accept
/// (SO_PEERCRED). A refused peer gets one `permission_denied` error line and is closed; nothing it sends is read.
struct AgentPeerCheck: Sendable {
    let uids: Set<UInt32>
    let gids: Set<UInt32>
    let logger: Logger

    init(uids: [UInt32], gids: [UInt32], logger: Logger) {
        self.uids = Set(uids)
        self.gids = Set(gids)
        self.logger = logger
    }

    var isOn: Bool { !uids.isEmpty || !gids.isEmpty }

    /// Nil when the peer may use the socket, else the reply line that refuses it.
    func check(_ channel: Channel) -> EventLoopFuture<[UInt8]?> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(refuse("the peer's credentials cannot be read"))
        }
        let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        return credentials.map { peer in
            if uids.contains(peer.uid) || gids.contains(peer.gid) { return nil }
            return refuse("uid \(peer.uid) gid \(peer.gid) (pid \(peer.pid)) may not use this socket: not in socket_allow_uid / socket_allow_gid")
        }.recover { error in
            refuse("the peer's credentials cannot be read: \(error)")
        }
    }

    private func refuse(_ why: String) -> [UInt8] {
        logger.warning("agent connection refused", metadata: ["reason": "\(why)"])
        return AgentReply.error(AgentProtocolError(code: .permissionDenied, message: why))
    }
}

/// Linux's `struct ucred` (SO_PEERCRED), laid out as the kernel writes it.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Writes the refusal line once the connection is up, then closes it.
final class AgentPeerRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let reply: [UInt8]

    init(reply: [UInt8]) { self.reply = reply }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: reply))).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {} // nothing a refused peer sends is read

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
