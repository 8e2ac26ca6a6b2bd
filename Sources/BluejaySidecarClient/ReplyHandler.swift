import NIOCore

/// Hands each reply line and the end of the connection to the client's state on the event loop.
final class ReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let core: ClientCore

    init(core: ClientCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var line = unwrapInboundIn(data)
        core.received(line.readBytes(length: line.readableBytes) ?? [], on: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.lost(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
