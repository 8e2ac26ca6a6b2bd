import Foundation
import Logging
import NIOCore
import NIOPosix

/// Records what a voice agent did during a call by writing to bluejay-sidecar's Unix socket.
///
/// - `enqueue(_:completion:)` never blocks and never suspends: use it on the audio path. The line is encoded on
///   the calling thread and handed to an event loop that owns the connection.
/// - The `async` methods return the sidecar's reply once the record is durable (`ok`), or the error. They wait
///   out a sidecar restart, so do not await them where latency matters.
/// - While the sidecar is down, records wait in a bounded local queue (oldest dropped, with a counted warning,
///   when full) and the client reconnects with jittered exponential backoff.
/// - Delivery is at least once: lines written but unanswered when the connection drops are written again, so the
///   sidecar holds a record twice if it had committed it just before going away.
/// - Errors are returned as `AgentReply` values and logged, never thrown.
public final class BluejaySidecarClient: Sendable {
    /// Counters for monitoring and tests.
    public struct Stats: Sendable, Equatable {
        /// Records dropped because the local queue was full.
        public var dropped = 0
        /// Lines written again after a connection was lost.
        public var resent = 0
        /// Successful connections so far.
        public var connects = 0
        /// Records not yet acknowledged (queued or in flight).
        public var unacknowledged = 0
    }

    /// `$XDG_RUNTIME_DIR/bluejay-sidecar.sock`, else `/tmp/bluejay-sidecar.sock` (the sidecar's own default).
    public static var defaultSocketPath: String {
        if let dir = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !dir.isEmpty {
            return dir + "/bluejay-sidecar.sock"
        }
        return "/tmp/bluejay-sidecar.sock"
    }

    private let core: ClientCore

    /// Starts connecting at once. Durations are Swift's own, so agents need not import NIO to configure it. The event loop group defaults to NIO's process-wide singleton, so a client
    /// costs no threads of its own; call `shutdown()` when done with it.
    public init(socketPath: String? = nil, queueLimit: Int = 10_000,
                reconnectInitial: Duration = .milliseconds(50), reconnectMax: Duration = .seconds(2),
                eventLoopGroup: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "bluejay-sidecar-client")) {
        core = ClientCore(loop: eventLoopGroup.next(), socketPath: socketPath ?? Self.defaultSocketPath,
                          queueLimit: queueLimit, backoff: Backoff(initial: TimeAmount(reconnectInitial), max: TimeAmount(reconnectMax)),
                          logger: logger)
        let core = self.core
        core.loop.execute { core.connect() }
    }

    /// Dropping the last reference stops the reconnect loop, which would otherwise run forever: what is queued
    /// gets up to two seconds to be acknowledged, then the connection closes.
    deinit {
        let core = self.core
        core.loop.execute {
            core.drained(timeout: .seconds(2)).whenComplete { _ in core.close() }
        }
    }

    public var socketPath: String { core.socketPath }

    // MARK: fire and forget

    /// Queues `request` and returns at once; `completion` (if any) gets the reply on the client's event loop.
    public func enqueue(_ request: SidecarRequest, completion: (@Sendable (AgentReply) -> Void)? = nil) {
        let core = self.core
        core.loop.execute { core.submit(ClientCore.Item(request: request, completion: completion)) }
    }

    // MARK: awaiting the reply

    /// Sends `request` and returns the reply once the sidecar has made it durable (or refused it).
    public func send(_ request: SidecarRequest) async -> AgentReply {
        await withCheckedContinuation { continuation in
            enqueue(request) { continuation.resume(returning: $0) }
        }
    }

    public func toolCall(_ name: String, call: CallRef, parameters: JSONValue? = nil, output: JSONValue? = nil,
                         description: String? = nil, at: Date = Date()) async -> AgentReply {
        await send(.toolCall(name, call: call, parameters: parameters, output: output, description: description, at: at))
    }

    public func event(_ title: String, call: CallRef, at: Date = Date(), startOffsetMs: Int? = nil, endOffsetMs: Int? = nil,
                      description: String? = nil, tags: [String]? = nil, metadata: JSONValue? = nil) async -> AgentReply {
        await send(.event(title, call: call, at: at, startOffsetMs: startOffsetMs, endOffsetMs: endOffsetMs,
                          description: description, tags: tags, metadata: metadata))
    }

    public func metadata(_ metadata: JSONValue, call: CallRef) async -> AgentReply {
        await send(.metadata(metadata, call: call))
    }

    public func tags(_ tags: [String], call: CallRef) async -> AgentReply {
        await send(.tags(tags, call: call))
    }

    public func transcript(_ speaker: SidecarRequest.Speaker, _ utterance: String, call: CallRef,
                           startOffsetMs: Int? = nil, endOffsetMs: Int? = nil) async -> AgentReply {
        await send(.transcript(speaker, utterance, call: call, startOffsetMs: startOffsetMs, endOffsetMs: endOffsetMs))
    }

    public func end(call: CallRef) async -> AgentReply { await send(.end(call: call)) }

    public func lookup(call: CallRef) async -> AgentReply { await send(.lookup(call: call)) }

    /// Opens a ledger with no SIP call behind it (Bluejay's WebSocket integration); `reply.callID` is its id.
    public func start(simulationResultID: String) async -> AgentReply {
        await send(.start(simulationResultID: simulationResultID))
    }

    // MARK: lifecycle

    /// Waits until every record queued so far is acknowledged; false if `timeout` passed first.
    public func flush(timeout: Duration = .seconds(5)) async -> Bool {
        let core = self.core
        return (try? await core.loop.flatSubmit { core.drained(timeout: TimeAmount(timeout)) }.get()) ?? false
    }

    public func stats() async -> Stats {
        let core = self.core
        return (try? await core.loop.submit { () -> Stats in
            var s = core.stats
            s.unacknowledged = core.unacknowledged
            return s
        }.get()) ?? Stats()
    }

    /// Flushes (bounded by `timeout`), then closes the connection; records still queued get `client_closed`.
    /// Returns whether everything was acknowledged.
    @discardableResult
    public func shutdown(timeout: Duration = .seconds(2)) async -> Bool {
        let drained = await flush(timeout: timeout)
        let core = self.core
        try? await core.loop.submit { core.close() }.get()
        return drained
    }
}
