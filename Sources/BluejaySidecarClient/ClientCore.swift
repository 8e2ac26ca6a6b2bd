import Logging
import NIOCore
import NIOPosix

/// The queue, the connection and the reconnect timer. Every member is touched only on `loop`, which is what
/// makes the unchecked Sendable sound; callers reach it through `loop.execute`, which never blocks.
final class ClientCore: @unchecked Sendable {
    struct Item {
        let request: SidecarRequest
        let completion: (@Sendable (AgentReply) -> Void)?
        /// Dropped while in flight: kept to pair its reply, never resent.
        var dropped = false
    }

    /// Replies are paired with requests by order; at most this many are unanswered on one connection,
    /// which bounds what a reconnect resends.
    static let window = 1024

    let loop: EventLoop
    let socketPath: String
    let queueLimit: Int
    let logger: Logger

    private var pending = CircularBuffer<Item>()
    private var inflight = CircularBuffer<Item>()
    private var live = 0
    private var channel: Channel?
    private var connecting = false
    private var backoff: Backoff
    private var reconnect: Scheduled<Void>?
    private var closed = false
    private var drainWaiters: [(id: Int, promise: EventLoopPromise<Bool>)] = []
    private var nextWaiter = 0
    private(set) var stats = BluejaySidecarClient.Stats()

    init(loop: EventLoop, socketPath: String, queueLimit: Int, backoff: Backoff, logger: Logger) {
        self.loop = loop
        self.socketPath = socketPath
        self.queueLimit = max(1, queueLimit)
        self.backoff = backoff
        self.logger = logger
    }

    // MARK: queue

    func submit(_ item: Item) {
        loop.preconditionInEventLoop()
        if closed {
            return complete(item, .local("client_closed", "the client is shut down"))
        }
        if live >= queueLimit, let victim = dropOldest() {
            stats.dropped += 1
            if stats.dropped == 1 || stats.dropped % 1000 == 0 {
                logger.warning("local queue full: dropped the oldest record",
                               metadata: ["queue_limit": "\(queueLimit)", "dropped": "\(stats.dropped)"])
            }
            complete(victim, .local("queue_full", "dropped from the local queue (queue_limit=\(queueLimit))"))
        }
        pending.append(item)
        live += 1
        pump()
    }

    /// The oldest unsent record; if every one is in flight, the oldest in flight is marked dropped.
    private func dropOldest() -> Item? {
        while let victim = pending.popFirst() {
            if !victim.dropped { live -= 1; return victim }
        }
        for i in inflight.indices where !inflight[i].dropped {
            inflight[i].dropped = true
            live -= 1
            return inflight[i]
        }
        return nil
    }

    private func pump() {
        guard let channel else {
            if !connecting && reconnect == nil && !closed { connect() }
            return
        }
        var wrote = false
        while inflight.count < Self.window, let item = pending.popFirst() {
            if item.dropped { continue }
            inflight.append(item)
            channel.write(ByteBuffer(bytes: item.request.line), promise: nil)
            wrote = true
        }
        if wrote { channel.flush() }
    }

    private func complete(_ item: Item, _ reply: AgentReply) {
        if !reply.ok, reply.error != "queue_full", reply.error != "client_closed" {
            logger.warning("sidecar refused a record", metadata: [
                "type": "\(item.request.kind)", "label": "\(item.request.label ?? "")",
                "error": "\(reply.error ?? "")", "message": "\(reply.message ?? "")",
            ])
        }
        item.completion?(reply)
    }

    // MARK: connection

    func connect() {
        loop.preconditionInEventLoop()
        guard !closed, channel == nil, !connecting else { return }
        connecting = true
        reconnect = nil
        let core = self
        ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: 1 << 20)))
                    try channel.pipeline.syncOperations.addHandler(ReplyHandler(core: core))
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .whenComplete { result in core.connected(result) }
    }

    private func connected(_ result: Result<Channel, Error>) {
        connecting = false
        switch result {
        case .success(let ch) where !closed && ch.isActive:
            channel = ch
            backoff.reset()
            stats.connects += 1
            logger.debug("connected to the sidecar", metadata: ["socket": "\(socketPath)"])
            pump()
        case .success(let ch):
            ch.close(promise: nil)
            scheduleReconnect()
        case .failure:
            scheduleReconnect()
        }
    }

    private func scheduleReconnect() {
        guard !closed, reconnect == nil else { return }
        let core = self
        reconnect = loop.scheduleTask(in: backoff.next()) { core.connect() }
    }

    /// The connection ended: unanswered lines go back to the front of the queue, in order (at least once).
    func lost(_ ch: Channel) {
        guard ch === channel else { return }
        channel = nil
        var resend = 0
        while let item = inflight.popLast() {
            if item.dropped { continue }
            pending.prepend(item)
            resend += 1
        }
        stats.resent += resend
        if !closed {
            logger.info("lost the sidecar connection; reconnecting", metadata: ["resend": "\(resend)", "queued": "\(live)"])
        }
        scheduleReconnect()
    }

    func received(_ line: [UInt8], on ch: Channel) {
        guard ch === channel, let item = inflight.popFirst() else { return }
        if item.dropped { return }
        live -= 1
        complete(item, AgentReply.parse(line))
        if live == 0 {
            let waiters = drainWaiters
            drainWaiters.removeAll()
            for w in waiters { w.promise.succeed(true) }
        }
        pump()
    }

    // MARK: flush and shutdown

    func drained(timeout: TimeAmount) -> EventLoopFuture<Bool> {
        loop.preconditionInEventLoop()
        if live == 0 { return loop.makeSucceededFuture(true) }
        let promise = loop.makePromise(of: Bool.self)
        let id = nextWaiter
        nextWaiter += 1
        drainWaiters.append((id, promise))
        let core = self
        loop.scheduleTask(in: timeout) {
            if let i = core.drainWaiters.firstIndex(where: { $0.id == id }) {
                core.drainWaiters.remove(at: i).promise.succeed(false)
            }
        }
        return promise.futureResult
    }

    var unacknowledged: Int { live }

    func close() {
        loop.preconditionInEventLoop()
        guard !closed else { return }
        closed = true
        reconnect?.cancel()
        reconnect = nil
        channel?.close(promise: nil)
        var leftovers = Array(inflight.filter { !$0.dropped })
        leftovers += pending.filter { !$0.dropped }
        inflight.removeAll()
        pending.removeAll()
        live = 0
        if !leftovers.isEmpty {
            logger.warning("client shut down with records unacknowledged", metadata: ["count": "\(leftovers.count)"])
        }
        for item in leftovers { complete(item, .local("client_closed", "shut down before the sidecar acknowledged")) }
        let waiters = drainWaiters
        drainWaiters.removeAll()
        for w in waiters { w.promise.succeed(leftovers.isEmpty) }
    }
}
