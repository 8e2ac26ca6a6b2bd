import BluejayCalls
import BluejaySIP
import Logging
import NIOCore
import NIOPosix

/// Binds the SIP listeners (UDP and TCP, IPv4 and IPv6) on the SIP event loop and feeds the user agent.
enum SIPListeners {
    /// A UDP listener's receive buffer. The default (~200 KB) holds a few hundred datagrams, less than a
    /// burst of INVITEs at a few thousand calls/s arriving while the loop waits on a commit: the kernel drops
    /// the rest and callers retransmit 500 ms later. Linux caps it at net.core.rmem_max.
    static let receiveBufferBytes: SocketOptionValue = 4 << 20

    /// `receive` gets every datagram / framed message with its peer, on the SIP loop.
    static func bind(_ addresses: [ListenAddress], receive: @escaping ([UInt8], SIPPeer) -> Void, environment: SIPLoopEnvironment,
                     logger: Logger) throws -> [Channel] {
        var channels: [Channel] = []
        for address in addresses {
            let v6 = address.host.contains(":")
            switch address.transport {
            case .udp:
                var bootstrap = DatagramBootstrap(group: environment.loop)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelOption(.socketOption(.so_rcvbuf), value: receiveBufferBytes)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: SIPMessage.maxSize + 1))
                    .channelOption(.maxMessagesPerRead, value: 16)
                    .channelInitializer { channel in
                        let id = environment.register(channel, udpListenerV6: v6)
                        let handler = SIPDatagramHandler(receive: receive, channelID: id, localPort: channel.localAddress?.port ?? address.port)
                        return channel.pipeline.addHandler(handler)
                    }
                if v6 { bootstrap = bootstrap.channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1) }
                channels.append(try bootstrap.bind(host: address.host, port: address.port).wait())
            case .tcp:
                var bootstrap = ServerBootstrap(group: environment.loop)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: 1_024)
                    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .childChannelInitializer { channel in
                        channel.pipeline.addHandler(SIPStreamHandler(receive: receive, environment: environment, logger: logger))
                    }
                if v6 { bootstrap = bootstrap.serverChannelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1) }
                channels.append(try bootstrap.bind(host: address.host, port: address.port).wait())
            }
        }
        return channels
    }
}

/// One UDP datagram is one SIP message.
final class SIPDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let receive: ([UInt8], SIPPeer) -> Void
    private let channelID: Int
    private let localPort: Int

    init(receive: @escaping ([UInt8], SIPPeer) -> Void, channelID: Int, localPort: Int) {
        self.receive = receive
        self.channelID = channelID
        self.localPort = localPort
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        var buffer = envelope.data
        guard let bytes = buffer.readBytes(length: buffer.readableBytes), bytes.contains(where: { $0 > 0x20 }) else {
            return // empty or whitespace-only datagrams are keep-alives
        }
        let peer = SIPPeer(transport: .udp, host: envelope.remoteAddress.ipAddress ?? "", port: envelope.remoteAddress.port ?? 0,
                           channelID: channelID, localPort: localPort)
        receive(bytes, peer)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors surface here on a UDP socket; the listener must keep going.
    }
}

/// A SIP TCP connection: framed by Content-Length, CRLF keep-alives answered (RFC 5626 §3.5.1).
final class SIPStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let receive: ([UInt8], SIPPeer) -> Void
    private let environment: SIPLoopEnvironment
    private let logger: Logger
    private var framer = SIPStreamFramer()
    private var channelID = 0
    private var peerHost = ""
    private var peerPort = 0
    private var localPort = 0

    init(receive: @escaping ([UInt8], SIPPeer) -> Void, environment: SIPLoopEnvironment, logger: Logger) {
        self.receive = receive
        self.environment = environment
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        channelID = environment.register(context.channel)
        peerHost = context.remoteAddress?.ipAddress ?? ""
        peerPort = context.remoteAddress?.port ?? 0
        localPort = context.localAddress?.port ?? 0
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        environment.unregister(channelID, closedConnection: true)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { framer.append($0) }
        let peer = SIPPeer(transport: .tcp, host: peerHost, port: peerPort, channelID: channelID, localPort: localPort)
        while let frame = framer.next() {
            switch frame {
            case .message(let bytes):
                receive(bytes, peer)
            case .keepAlive:
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: "\r\n")), promise: nil)
            case .error(let error):
                // The stream cannot be re-synchronised after a framing error: close it.
                logger.info("closing SIP TCP connection", metadata: ["peer": "\(peerHost):\(peerPort)", "error": "\(error)"])
                context.close(promise: nil)
                return
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
