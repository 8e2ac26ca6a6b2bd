import BluejayCalls
import BluejayHEP
import BluejaySIP
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Mode `mirror`: UDP datagrams carrying copies of the signalling — HEP v3 (Kamailio `siptrace`, OpenSIPS,
/// FreeSWITCH, Asterisk `res_hep`, heplify) or plain SIP — fed to the observer once each. Nothing is ever sent back.
final class MirrorDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let observer: CallObserver
    private let logger: Logger
    private let filter: SIPSourceFilter
    private var duplicates = DuplicateFilter()
    private(set) var counters = (received: 0, hep: 0, plain: 0, duplicate: 0, malformed: 0, ignored: 0)

    init(observer: CallObserver, filter: SIPSourceFilter, logger: Logger) {
        self.observer = observer
        self.filter = filter
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard filter.admits(envelope.remoteAddress, transport: .udp) else { return } // --sip-allow: the capture agents
        var buffer = envelope.data
        guard let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty else { return }
        counters.received += 1
        // The capture time of a HEP packet (chunks 9/10) is the capture agent's clock; call times use the
        // sidecar's own, the clock the agent's records are stamped with, so offsets stay consistent under skew.
        let sip: [UInt8]
        switch MirrorDatagram.classify(bytes) {
        case .sip(let payload, let hep):
            if hep != nil { counters.hep += 1 } else { counters.plain += 1 }
            sip = payload
        case .ignored(let why):
            counters.ignored += 1
            logger.debug("mirror datagram ignored", metadata: ["reason": "\(why)"])
            return
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard duplicates.firstSighting(sip, nowMs: now) else {
            counters.duplicate += 1
            return
        }
        switch SIPMessage.parse(sip) {
        case .message(let message):
            observer.observe(message)
        case .badRequest, .drop:
            counters.malformed += 1
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}

enum MirrorListener {
    static func bind(_ addresses: [ListenAddress], observer: CallObserver, loop: EventLoop, filter: SIPSourceFilter, logger: Logger) throws -> [Channel] {
        try addresses.map { address in
            guard address.transport == .udp else {
                throw ConfigError.invalid(key: "mirror", value: address.description, allowed: "udp://HOST:PORT")
            }
            return try DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
                .channelOption(.maxMessagesPerRead, value: 16)
                .channelInitializer { channel in channel.pipeline.addHandler(MirrorDatagramHandler(observer: observer, filter: filter, logger: logger)) }
                .bind(host: address.host, port: address.port).wait()
        }
    }
}
