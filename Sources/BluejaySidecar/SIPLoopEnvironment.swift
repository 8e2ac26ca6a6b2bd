import BluejayCalls
import BluejayStore
import Foundation
import Logging
import NIOCore

/// The user agent's world on the SIP event loop: sockets, timers, the store and the flusher.
final class SIPLoopEnvironment: UASEnvironment {
    let loop: EventLoop
    private let writer: StoreWriter
    private let flusher: Flusher
    private let logger: Logger
    /// Listener and connection channels by the ids handed to `SIPPeer`; touched on `loop` only.
    private var channels: [Int: Channel] = [:]
    private var nextChannelID = 1

    private let outbound: OutboundNumbers
    private let registry: CallRegistry

    init(loop: EventLoop, writer: StoreWriter, flusher: Flusher, outbound: OutboundNumbers, registry: CallRegistry, logger: Logger) {
        self.registry = registry
        self.loop = loop
        self.writer = writer
        self.flusher = flusher
        self.outbound = outbound
        self.logger = logger
    }

    func outboundSimulationResultID(dialled: [String], callID: String) -> String? {
        guard let (e164, id) = outbound.claim(dialled: dialled) else { return nil }
        logger.info("outbound call matched an outbound simulation", metadata: ["call_id": "\(callID)", "number": "\(e164)", "simulation_result_id": "\(id)"])
        writer.submit({ db in try WebhookStore.claimOutbound(e164: e164, simulationResultID: id, callID: callID, in: db) })
        return id
    }

    func register(_ channel: Channel) -> Int {
        loop.preconditionInEventLoop()
        let id = nextChannelID
        nextChannelID += 1
        channels[id] = channel
        return id
    }

    func unregister(_ id: Int) { channels[id] = nil }

    var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func send(_ bytes: [UInt8], to destination: SIPDestination) {
        guard let channel = channels[destination.peer.channelID] else {
            logger.debug("no channel for SIP response any more", metadata: ["to": "\(destination.host):\(destination.port)"])
            return
        }
        let buffer = channel.allocator.buffer(bytes: bytes)
        if destination.peer.transport.isReliable {
            channel.writeAndFlush(buffer, promise: nil)
            return
        }
        do {
            let address: SocketAddress
            if let ip = try? SocketAddress(ipAddress: destination.host, port: destination.port) {
                address = ip
            } else {
                address = try SocketAddress.makeAddressResolvingHost(destination.host, port: destination.port)
            }
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
        } catch {
            logger.warning("cannot send SIP response", metadata: ["to": "\(destination.host):\(destination.port)", "error": "\(error)"])
        }
    }

    func schedule(afterMs: Int64, _ task: @escaping () -> Void) -> SIPTimer {
        LoopTimer(loop.scheduleTask(in: .milliseconds(afterMs), task))
    }

    func persist(_ call: StoredCall, done: @escaping (Error?) -> Void) {
        let loop = self.loop
        writer.submit({ db in try Ledger.upsert(call, in: db) }, completion: { error in loop.execute { done(error) } })
    }

    func callEnded(_ callID: String) { flusher.callEnded(callID) }

    /// SIP-derived events go to the ledger like the agent's, as kind `sip_event` (not "something the agent
    /// recorded" when deciding whether an unanswered call is worth a body).
    func record(_ event: SIPCallEvent, callID: String) {
        let record = StoredRecord(kind: SIPCallEvent.recordKind, startIsOffset: false, startValue: event.atMs, fragment: event.fragment)
        let registry = self.registry
        writer.submit({ db in try Ledger.append(record, callID: callID, in: db) }, completion: { error in
            if error == nil { registry.update(callID) { $0.recordCount += 1 } }
        })
    }
}

private final class LoopTimer: SIPTimer {
    private let scheduled: Scheduled<Void>
    init(_ scheduled: Scheduled<Void>) { self.scheduled = scheduled }
    func cancel() { scheduled.cancel() }
}
