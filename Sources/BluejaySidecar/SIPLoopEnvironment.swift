import BluejayCalls
import BluejayStore
import Foundation
import Logging
import BluejayProxy
import BluejaySIP
import NIOCore
import NIOPosix

/// The user agent's world on the SIP event loop: sockets, timers, the store and the flusher.
final class SIPLoopEnvironment: UASEnvironment {
    let loop: EventLoop
    /// Call state is committed on the loop when the store is idle.
    private let committer: LoopCommitter
    private let flusher: Flusher
    private let logger: Logger
    /// Listener and connection channels by the ids handed to `SIPPeer`; touched on `loop` only.
    private var channels: [Int: Channel] = [:]
    private var nextChannelID = 1

    private let outbound: OutboundNumbers
    private let registry: CallRegistry
    /// A TCP peer that begins a message must finish it within this time (`--read-timeout`).
    var streamReadTimeout: TimeAmount = .seconds(20)
    private let backlog = StoreBacklog()
    /// Store completions come back to the loop through this, one hop per commit.
    private let handoff: LoopHandoff

    init(loop: EventLoop, committer: LoopCommitter, flusher: Flusher, outbound: OutboundNumbers, registry: CallRegistry, logger: Logger) {
        self.registry = registry
        self.loop = loop
        handoff = LoopHandoff(loop: loop)
        self.committer = committer
        self.flusher = flusher
        self.outbound = outbound
        self.logger = logger
    }

    func outboundSimulationResultID(dialled: [String], callID: String) -> String? {
        guard let (e164, id) = outbound.claim(dialled: dialled) else { return nil }
        logger.info("outbound call matched an outbound simulation", metadata: ["call_id": "\(callID)", "number": "\(e164)", "simulation_result_id": "\(id)"])
        committer.submit({ db in try WebhookStore.claimOutbound(e164: e164, simulationResultID: id, callID: callID, in: db) },
                      durability: .written)
        return id
    }

    /// UDP listeners by address family: where proxied datagrams with no channel of their own go out from.
    private var udpListenerV4: Int?
    private var udpListenerV6: Int?
    /// Outbound TCP connections (mode proxy) by "host:port", and messages waiting for one to connect.
    private var outboundTCP: [String: Channel] = [:]
    private var connecting: [String: [([UInt8], SIPDestination)]] = [:]
    /// Mode proxy: the core to report send failures and closed connections to, and the call tracker.
    weak var proxy: ProxyCore?
    weak var observer: CallObserver?
    /// Where the listeners hand what they read (the UAS or the proxy); connections the sidecar opens hand theirs
    /// there too. Set once, before the listeners open.
    var receive: (([UInt8], SIPPeer) -> Void)?
    var logger_: Logger { logger }

    func register(_ channel: Channel, udpListenerV6 v6: Bool? = nil) -> Int {
        loop.preconditionInEventLoop()
        let id = nextChannelID
        nextChannelID += 1
        channels[id] = channel
        if let v6 {
            if v6 { udpListenerV6 = udpListenerV6 ?? id } else { udpListenerV4 = udpListenerV4 ?? id }
        }
        return id
    }

    func unregister(_ id: Int, closedConnection: Bool = false) {
        if let channel = channels.removeValue(forKey: id), let key = outboundTCP.first(where: { $0.value === channel })?.key {
            outboundTCP[key] = nil
        }
        if closedConnection { proxy?.connectionClosed(channelID: id) }
    }

    var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func send(_ bytes: [UInt8], to destination: SIPDestination) {
        guard let channel = channels[destination.peer.channelID],
              !destination.peer.transport.isReliable || Self.connects(channel, to: destination) else {
            // No channel, or a TCP connection to somewhere else (the proxy names the one a request came in on).
            // A response whose connection closed goes to the request's sent-by port instead (§18.2.2).
            var elsewhere = destination
            if let port = destination.reconnectPort { elsewhere.port = port }
            sendWithoutChannel(bytes, to: elsewhere)
            return
        }
        let buffer = channel.allocator.buffer(bytes: bytes)
        if destination.peer.transport.isReliable {
            channel.writeAndFlush(buffer, promise: nil)
            return
        }
        guard let address = address(of: destination) else { return }
        channel.write(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
        flushSoon(channel)
    }

    /// Addresses only: resolving a name on the loop (getaddrinfo, or a connect to a name) would stop it for as
    /// long as DNS takes. A destination that is not an address is not sent to (the proxy hears of it).
    private func address(of destination: SIPDestination) -> SocketAddress? {
        if let address = try? SocketAddress(ipAddress: destination.host, port: destination.port) { return address }
        logger.debug("SIP message not sent: the destination is not an address", metadata: ["to": "\(destination.host):\(destination.port)"])
        proxy?.sendFailed(to: destination)
        return nil
    }

    /// UDP channels written since the last flush. Datagrams answered in one pass of the loop (a burst of
    /// reads, a drain of store completions) leave in one flush, which NIO sends with one sendmmsg(2).
    private var unflushed: [Channel] = []

    /// Flushes `channel` once the loop has finished what it is doing: after the read burst or the task under way.
    private func flushSoon(_ channel: Channel) {
        if unflushed.isEmpty {
            loop.execute { [self] in
                for channel in unflushed { channel.flush() } // a flush sends; it never calls back into `send`
                unflushed.removeAll(keepingCapacity: true)
            }
        }
        if !unflushed.contains(where: { $0 === channel }) { unflushed.append(channel) }
    }

    static func connects(_ channel: Channel, to destination: SIPDestination) -> Bool {
        guard let remote = channel.remoteAddress else { return false }
        return remote.port == destination.port && remote.ipAddress == destination.host
    }

    /// No channel named (or it is gone): UDP from the listener of the address family; TCP over the open
    /// connection to host:port, or a new one (mode proxy). Failures are reported to the proxy core.
    private func sendWithoutChannel(_ bytes: [UInt8], to destination: SIPDestination) {
        switch destination.peer.transport {
        case .udp:
            let v6 = destination.host.contains(":")
            guard let id = v6 ? udpListenerV6 : udpListenerV4, let listener = channels[id] else {
                logger.debug("no UDP listener for the address family", metadata: ["to": "\(destination.host):\(destination.port)"])
                proxy?.sendFailed(to: destination)
                return
            }
            var routed = destination
            routed.peer.channelID = id
            send(bytes, to: routed)
            _ = listener
        case .tcp:
            guard address(of: destination) != nil else { return }
            let key = "\(destination.host):\(destination.port)"
            if let channel = outboundTCP[key], channel.isActive {
                channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
                return
            }
            if connecting[key] != nil {
                connecting[key]!.append((bytes, destination))
                return
            }
            connecting[key] = [(bytes, destination)]
            connect(key: key, host: destination.host, port: destination.port)
        case .tls:
            // TLS goes back over the connection it came in on; the sidecar opens none of its own.
            logger.debug("TLS connection gone", metadata: ["to": "\(destination.host):\(destination.port)"])
            proxy?.sendFailed(to: destination)
        }
    }

    private func connect(key: String, host: String, port: Int) {
        let environment = self
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.pipeline.addHandler(SIPStreamHandler(receive: { bytes, peer in environment.receive?(bytes, peer) },
                                                             environment: environment, logger: environment.logger_))
            }
            .connect(host: host, port: port)
            .whenComplete { [self] result in
                let waiting = connecting.removeValue(forKey: key) ?? []
                switch result {
                case .success(let channel):
                    outboundTCP[key] = channel
                    for (bytes, _) in waiting { channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil) }
                case .failure(let error):
                    logger.warning("cannot connect to SIP peer", metadata: ["to": "\(key)", "error": "\(error)"])
                    for (_, destination) in waiting { proxy?.sendFailed(to: destination) }
                }
            }
    }

    func schedule(afterMs: Int64, _ task: @escaping () -> Void) -> SIPTimer {
        LoopTimer(loop.scheduleTask(in: .milliseconds(afterMs), task))
    }

    func persist(_ call: StoredCall, done: @escaping (Error?) -> Void) {
        write(call, seq: backlog.willPersist(call.callID), done: done)
    }

    /// Written, not synced, before the SIP side answers (`StoreWriter.Durability.written`): the sidecar's crash
    /// loses no call, a power loss at most the last `maxUnsyncedMs` of SIP state, and no acknowledged record (a
    /// record's synced commit syncs its call's state with it).
    private func write(_ call: StoredCall, seq: Int, done: @escaping (Error?) -> Void) {
        let handoff = self.handoff
        committer.submit({ db in try Ledger.upsert(call, in: db) }, singleStatement: true, durability: .written, completion: { [self] error in
            handoff.run {
                self.backlog.persisted(call, seq: seq, error: error)
                done(error)
            }
        })
    }

    func callEnded(_ callID: String) {
        sourceLimiter?.callEnded(callID)
        if backlog.deferEnd(callID) {
            logger.warning("call ended while the store is unavailable: flushed once its state is stored", metadata: ["call_id": "\(callID)"])
            return
        }
        flusher.callEnded(callID)
    }

    /// Per-source call limits: a call's end gives its slot back.
    var sourceLimiter: SourceLimiter?

    /// SIP-derived events go to the ledger like the agent's, as kind `sip_event` (not "something the agent
    /// recorded" when deciding whether an unanswered call is worth a body).
    func record(_ event: SIPCallEvent, callID: String) {
        let record = StoredRecord(kind: SIPCallEvent.recordKind, startIsOffset: false, startValue: event.atMs, fragment: event.fragment)
        appendEvent(record, callID: callID) { [self] error in
            if error != nil { backlog.eventFailed(record, callID: callID) }
        }
    }

    /// `done` runs on the loop after the commit (nil) or the failure.
    private func appendEvent(_ record: StoredRecord, callID: String, done: @escaping (Error?) -> Void) {
        let registry = self.registry
        let handoff = self.handoff
        // Deferrable: it joins the commit of the call's next state change (or the flush), which it precedes.
        committer.submit({ db in try Ledger.append(record, callID: callID, in: db) }, singleStatement: true, deferrable: true,
                      durability: .written, completion: { error in
            if error == nil { registry.update(callID) { $0.recordCount += 1 } }
            handoff.run { done(error) }
        })
    }

    /// Writes again what the store refused while it was unavailable; about once a second, on the loop.
    func retryBacklog() {
        backlog.retry(persist: { call, seq, done in write(call, seq: seq, done: done) },
                      record: { record, callID, done in appendEvent(record, callID: callID, done: done) },
                      ended: { [flusher] callID in flusher.callEnded(callID) })
    }
}

private final class LoopTimer: SIPTimer {
    private let scheduled: Scheduled<Void>
    init(_ scheduled: Scheduled<Void>) { self.scheduled = scheduled }
    func cancel() { scheduled.cancel() }
}

extension SIPLoopEnvironment: ProxyEnvironment {
    /// The proxy's view of every message feeds the call tracker (who called, the answer, the BYE).
    func observe(message: SIPMessage, from side: ProxySide) { observer?.observe(message) }

    /// A final response the proxy made itself (408/503 when the upstream fails) ends the call as well.
    func generated(message: SIPMessage, to side: ProxySide) {
        if !message.isRequest, message.statusCode >= 200 { observer?.observe(message) }
    }
}
