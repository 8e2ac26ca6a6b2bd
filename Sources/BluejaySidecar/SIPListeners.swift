import BluejayCalls
import BluejaySIP
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Binds the SIP listeners (UDP, TCP and TLS, IPv4 and IPv6) on the SIP event loop and feeds the user agent.
/// TLS is TCP with a TLS stage in front of the same stream handler; `filter` (`--sip-allow`) is checked
/// before anything is read: per datagram, and per connection at accept (before a TLS handshake).
enum SIPListeners {
    /// A UDP listener's receive buffer. The default (~200 KB) holds a few hundred datagrams, less than a
    /// burst of INVITEs at a few thousand calls/s arriving while the loop waits on a commit: the kernel drops
    /// the rest and callers retransmit 500 ms later. Linux caps it at net.core.rmem_max.
    static let receiveBufferBytes: SocketOptionValue = 4 << 20

    /// `receive` gets every datagram / framed message with its peer, on the SIP loop.
    static func bind(_ addresses: [ListenAddress], receive: @escaping ([UInt8], SIPPeer) -> Void, environment: SIPLoopEnvironment,
                     filter: SIPSourceFilter, tls: LiveTLSIdentity?, logger: Logger) throws -> [Channel] {
        var channels: [Channel] = []
        environment.receive = receive
        for address in addresses {
            let v6 = address.host.contains(":")
            switch address.transport {
            case .udp:
                var bootstrap = DatagramBootstrap(group: environment.loop)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelOption(.socketOption(.so_rcvbuf), value: receiveBufferBytes)
                    // One datagram per recvmsg(2). NIO's recvmmsg cuts one buffer into equal slices, each of which
                    // must hold the largest datagram: that 512 KB buffer cost more in page faults than it saved.
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: SIPMessage.maxSize + 1))
                    .channelOption(.maxMessagesPerRead, value: 16)
                    .channelInitializer { channel in
                        let id = environment.register(channel, udpListenerV6: v6)
                        let handler = SIPDatagramHandler(receive: receive, channelID: id, localPort: channel.localAddress?.port ?? address.port,
                                                         filter: filter)
                        return channel.pipeline.addHandler(handler)
                    }
                if v6 { bootstrap = bootstrap.channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1) }
                channels.append(try bootstrap.bind(host: address.host, port: address.port).wait())
            case .tcp, .tls:
                let transport = address.transport
                if transport == .tls && tls == nil {
                    throw ConfigError.unusable("\(address) needs --tls-cert and --tls-key")
                }
                var bootstrap = ServerBootstrap(group: environment.loop)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: 1_024)
                    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .childChannelInitializer { channel in
                        guard filter.admits(channel.remoteAddress, transport: transport) else {
                            return channel.eventLoop.makeFailedFuture(SourceNotAllowed()) // closed at accept
                        }
                        let stream = SIPStreamHandler(receive: receive, environment: environment, logger: logger, transport: transport)
                        guard transport == .tls, let tls else { return channel.pipeline.addHandler(stream) }
                        return channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: tls.current.context), stream)
                        }
                    }
                if v6 { bootstrap = bootstrap.serverChannelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1) }
                channels.append(try bootstrap.bind(host: address.host, port: address.port).wait())
            }
        }
        return channels
    }

    /// Why a connection from a source outside `--sip-allow` was closed at accept.
    struct SourceNotAllowed: Error {}
}

/// One UDP datagram is one SIP message.
final class SIPDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let receive: ([UInt8], SIPPeer) -> Void
    private let channelID: Int
    private let localPort: Int
    private let filter: SIPSourceFilter

    init(receive: @escaping ([UInt8], SIPPeer) -> Void, channelID: Int, localPort: Int, filter: SIPSourceFilter) {
        self.receive = receive
        self.channelID = channelID
        self.localPort = localPort
        self.filter = filter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard filter.admits(envelope.remoteAddress, transport: .udp) else { return } // dropped unanswered
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

/// A SIP TCP or TLS connection (behind the TLS stage, the same bytes): framed by Content-Length, CRLF keep-alives
/// answered (RFC 5626 §3.5.1).
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
    private let transport: SIPTransport
    /// Closes the connection when a message begun is not complete within the read timeout (a stalled
    /// stream, or one whose Content-Length promises more than it sends).
    private var readDeadline: Scheduled<Void>?

    init(receive: @escaping ([UInt8], SIPPeer) -> Void, environment: SIPLoopEnvironment, logger: Logger, transport: SIPTransport = .tcp) {
        self.receive = receive
        self.environment = environment
        self.logger = logger
        self.transport = transport
    }

    func channelActive(context: ChannelHandlerContext) {
        channelID = environment.register(context.channel)
        peerHost = context.remoteAddress?.ipAddress ?? ""
        peerPort = context.remoteAddress?.port ?? 0
        localPort = context.localAddress?.port ?? 0
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        readDeadline?.cancel()
        readDeadline = nil
        environment.unregister(channelID, closedConnection: true)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { framer.append($0) }
        let peer = SIPPeer(transport: transport, host: peerHost, port: peerPort, channelID: channelID, localPort: localPort)
        defer { armReadDeadline(context: context) }
        while let frame = framer.next() {
            switch frame {
            case .message(let bytes):
                readDeadline?.cancel()
                readDeadline = nil
                receive(bytes, peer)
            case .keepAlive:
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: "\r\n")), promise: nil)
            case .error(let error):
                // The stream cannot be re-synchronised after a framing error: close it.
                logger.info("closing SIP \(transport.rawValue) connection", metadata: ["peer": "\(peerHost):\(peerPort)", "error": "\(error)"])
                context.close(promise: nil)
                return
            }
        }
    }

    private func armReadDeadline(context: ChannelHandlerContext) {
        guard framer.bufferedByteCount > 0 else {
            readDeadline?.cancel()
            readDeadline = nil
            return
        }
        guard readDeadline == nil, context.channel.isActive else { return }
        let timeout = environment.streamReadTimeout
        let (channel, logger, peer, buffered) = (context.channel, logger, "\(peerHost):\(peerPort)", framer.bufferedByteCount)
        readDeadline = context.eventLoop.scheduleTask(in: timeout) {
            logger.info("closing SIP TCP connection: message not completed within the read timeout",
                        metadata: ["peer": "\(peer)", "buffered_bytes": "\(buffered)"])
            channel.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
