import BluejayCalls
import BluejayProxy
import BluejayDelivery
import BluejayStore
import Foundation
import Logging
import NIOCore
import NIOPosix

/// The running sidecar: store, SIP listeners, agent socket and delivery, wired in data-flow order.
public final class Sidecar: @unchecked Sendable {
    public let options: SidecarOptions
    private let logger: Logger
    private let sipGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let agentGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var writer: StoreWriter?
    private var worker: DeliveryWorker?
    private var channels: [Channel] = []
    /// The UAS (mode uas) or the observer (mode mirror); used on the SIP loop only.
    private var tracker: CallTracker?
    /// Mode proxy: the relay (held here; the environment keeps only a weak reference).
    private var proxy: ProxyCore?
    private var environment: SIPLoopEnvironment?
    /// `--sip-allow` and the per-source call limits; used on the SIP loop only.
    private var sourceFilter: SIPSourceFilter?
    private var sourceLimiter: SourceLimiter?
    /// The tls:// listeners' certificate and key, replaced on SIGHUP; used on the SIP loop only.
    private var liveTLS: LiveTLSIdentity?
    private var sweeper: RepeatedTask?
    private var pruner: RepeatedTask?
    private var flusher: Flusher?
    private var sipLoop: EventLoop?
    public let registry = CallRegistry()
    let outbound = OutboundNumbers()
    private(set) var reader: SharedStoreReader?
    /// Set once every listener is bound.
    public private(set) var started = false
    /// Set when a graceful shutdown begins: the sidecar takes no new calls, so it is no longer ready.
    public private(set) var draining = false

    public init(options: SidecarOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// The SIP listeners' bound addresses (ports resolved when 0 was asked for).
    public private(set) var boundSIP: [ListenAddress] = []

    public func start() throws {
        try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let writer = try StoreWriter(path: options.storePath, logger: logger)
        self.writer = writer
        let loop = sipGroup.next()
        // Thread names for `top -H`, profiles and the benchmark's per-thread CPU (NIO names them by number).
        try loop.submit { Thread.current.name = "bj-sip" }.wait()
        try agentGroup.next().submit { Thread.current.name = "bj-agent" }.wait()
        let committer = LoopCommitter(writer: writer, loop: loop)
        let flusher = Flusher(committer: committer, registry: registry, lingerMs: options.lingerMs, loop: loop, logger: logger)

        let target: DeliveryTarget
        if let key = options.apiKey {
            target = .bluejay(BluejayClient(endpoint: BluejayEndpoint(baseURL: options.bluejayURL, apiKey: key, timeoutMs: options.httpTimeoutMs),
                                            maxConcurrent: options.maxInFlightDeliveries))
            logger.info("delivering to Bluejay", metadata: ["url": "\(options.bluejayURL)"])
        } else {
            let dir = options.effectiveDryRunDirectory
            target = .dryRun(try DryRunSink(directory: dir))
            logger.notice("no Bluejay API key (BLUEJAY_API_KEY or --api-key-file): dry-run, each body is written to \(dir)")
        }
        let worker = DeliveryWorker(writer: writer, storePath: options.storePath, target: target, policy: options.retry,
                                    maxInFlight: options.maxInFlightDeliveries, logger: logger)
        self.worker = worker
        flusher.onEnqueued = { [weak worker] item in worker?.enqueued(item) }

        self.flusher = flusher
        self.sipLoop = loop
        let environment = SIPLoopEnvironment(loop: loop, committer: committer, flusher: flusher, outbound: outbound, registry: registry, logger: logger)
        environment.streamReadTimeout = .seconds(Int64(options.readTimeoutSeconds))
        self.environment = environment
        let tracker: CallTracker
        switch options.mode {
        case .uas: tracker = UserAgentServer(config: options.uas, registry: registry, environment: environment, logger: logger)
        case .mirror, .proxy: tracker = CallObserver(config: options.uas, registry: registry, environment: environment, logger: logger)
        }
        self.tracker = tracker

        // Whatever a previous run left open: dialogs answer their BYEs again; ended calls flush now.
        let reader = try SharedStoreReader(path: options.storePath)
        self.reader = reader
        let open = try reader.read { db in try Ledger.openCalls(in: db) }
        for (e164, id, claimed) in try reader.read({ db in try WebhookStore.outboundNumbers(in: db) }) {
            outbound.add(e164: e164, ids: [id], claimed: claimed)
        }
        try loop.submit { tracker.restore(open) }.wait()
        try loop.submit { for call in open where call.state != .active { flusher.flush(call.callID, done: nil) } }.wait()
        if !open.isEmpty { logger.info("recovered open calls from the store", metadata: ["calls": "\(open.count)"]) }

        try worker.start()
        let listeners = options.mode == .mirror ? options.mirrorListeners : options.sipListeners
        let filter = SIPSourceFilter(allow: allowList(options), logger: logger)
        let limiter = SourceLimiter(config: options.sourceLimits)
        liveTLS = options.tls.map(LiveTLSIdentity.init)
        sourceFilter = filter
        sourceLimiter = limiter
        environment.sourceLimiter = limiter
        switch (options.mode, tracker) {
        case (.uas, let uas as UserAgentServer):
            uas.sourceLimiter = limiter
            channels = try SIPListeners.bind(listeners, receive: { uas.receive($0, from: $1) }, environment: environment,
                                             filter: filter, tls: liveTLS, logger: logger)
        case (.mirror, let observer as CallObserver):
            channels = try MirrorListener.bind(listeners, observer: observer, loop: loop, filter: filter, logger: logger)
        case (.proxy, let observer as CallObserver):
            environment.observer = observer
            let proxy = try makeProxy(environment: environment, listeners: listeners)
            proxy.sourceLimiter = limiter
            self.proxy = proxy
            environment.proxy = proxy
            channels = try SIPListeners.bind(listeners, receive: { proxy.receive($0, from: $1) }, environment: environment,
                                             filter: filter, tls: liveTLS, logger: logger)
        default:
            channels = []
        }
        boundSIP = zip(listeners, channels).map { address, channel in
            ListenAddress(transport: address.transport, host: address.host, port: channel.localAddress?.port ?? address.port)
        }
        let service = AgentService(registry: registry, writer: writer, flusher: flusher, logger: logger)
        let peers = AgentPeerCheck(uids: options.socketAllowUIDs, gids: options.socketAllowGIDs, logger: logger)
        channels.append(try AgentSocketServer.bind(path: options.socketPath, group: agentGroup, service: service, peers: peers))
        let limit = CallDurationLimit(maxMs: options.maxCallDurationMs)
        let registry = self.registry
        let log = logger
        sweeper = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            tracker.sweep()
            limiter.sweep(nowMs: environment.nowMs, isLive: { registry.entry($0).map { $0.state != .ended } ?? false })
            // Call states and events first, then flushes: the writer runs them in this order.
            environment.retryBacklog()
            flusher.retryFailed()
            limit.enforce(nowMs: environment.nowMs, registry: registry, tracker: tracker, flusher: flusher, logger: log)
        }
        // Retention: at start and hourly, drop what Bluejay already has (dead letters stay for an operator).
        let retentionMs = Int64(options.retentionDays) * 86_400_000
        pruner = loop.scheduleRepeatedTask(initialDelay: .seconds(5), delay: .hours(1)) { _ in
            let cutoff = Int64(Date().timeIntervalSince1970 * 1000) - retentionMs
            writer.submit({ db in
                try Ledger.prune(flushedBeforeMs: cutoff, in: db)
                try Outbox.pruneDelivered(beforeMs: cutoff, in: db)
            }, completion: { error in
                if let error { log.warning("retention pruning failed", metadata: ["error": "\(error)"]) }
            })
        }

        started = true
    }

    /// `--sip-allow`, and in mode proxy the upstream, which must always reach us (responses, its own requests).
    private func allowList(_ options: SidecarOptions) -> [IPPrefix] {
        guard !options.sipAllow.isEmpty, options.mode == .proxy, let uri = options.upstream, let upstream = ProxyUpstream(uri: uri),
              let prefix = try? IPPrefix(parsing: upstream.host, key: "upstream") else { return options.sipAllow }
        return options.sipAllow + [prefix]
    }

    /// Mode proxy: Via and Record-Route name the advertised host and the listeners' ports.
    private func makeProxy(environment: SIPLoopEnvironment, listeners: [ListenAddress]) throws -> ProxyCore {
        guard let uri = options.upstream, let upstream = ProxyUpstream(uri: uri) else {
            throw ConfigError.invalid(key: "upstream", value: options.upstream ?? "(none)", allowed: "sip:HOST:PORT[;transport=tcp]")
        }
        let wildcard: Set<String> = ["0.0.0.0", "::"]
        guard let host = options.uas.advertisedHost ?? listeners.first(where: { !wildcard.contains($0.host) })?.host else {
            throw ConfigError.unusable("mode proxy listening on a wildcard address needs --advertise-host: Via and Record-Route must name an address both sides reach")
        }
        var config = ProxyConfig(upstream: upstream, advertisedHost: host,
                                 udpPort: listeners.first { $0.transport == .udp }?.port ?? 5060,
                                 tcpPort: listeners.first { $0.transport == .tcp }?.port ?? 5060)
        config.localHosts = Set(listeners.map(\.host)).subtracting(wildcard)
        return ProxyCore(config: config, environment: environment, logger: logger)
    }

    /// The store, for the HTTP layer.
    var store: StoreWriter? { writer }

    func wakeDelivery() { worker?.wake() }

    /// Bluejay says a simulation is over: a call of it whose BYE never came is ended and flushed now (no linger);
    /// an ended call still lingering is flushed now. A call already flushed is left alone.
    func simulationEnded(_ simulationResultID: String) {
        guard let entry = registry.resolve(callID: nil, simulationResultID: simulationResultID), !entry.flushed,
              let loop = sipLoop, let tracker, let flusher else {
            logger.info("simulation_ended: no call with unsent data", metadata: ["simulation_result_id": "\(simulationResultID)"])
            return
        }
        registry.update(entry.callID) { $0.agentDone = true }
        loop.execute {
            if !tracker.endCall(entry.callID, by: "bluejay", reason: "simulation_ended") {
                flusher.agentEnded(entry.callID) { _ in }
            }
        }
        logger.info("simulation_ended: flushing its call", metadata: ["call_id": "\(entry.callID)", "simulation_result_id": "\(simulationResultID)"])
    }

    /// SIGHUP: what can change while running (linger, retry policy; the log level and webhook secret are
    /// applied by their owners).
    /// Returns once the SIP loop has applied its part.
    func reload(_ fresh: SidecarOptions) async {
        flusher?.lingerMs = fresh.lingerMs
        worker?.policy = fresh.retry
        let allow = allowList(fresh)
        if let loop = sipLoop, let filter = sourceFilter, let limiter = sourceLimiter {
            let tls = liveTLS
            try? await loop.submit {
                filter.allow = allow
                limiter.config = fresh.sourceLimits
                if let tls, let identity = fresh.tls { tls.current = identity }
            }.get()
        }
        if liveTLS != nil, let identity = fresh.tls {
            logger.notice("TLS certificate and key re-read for new connections", metadata: ["tls_cert": "\(identity.certificatePath)"])
        }
    }

    /// Graceful shutdown, first half: new INVITEs get 503 while in-dialog requests and the socket keep working.
    /// Returns once the SIP loop has applied it, so no INVITE that arrives after the notice is taken.
    func beginDrain() async {
        draining = true
        guard let loop = sipLoop, let tracker else { return }
        let proxy = self.proxy
        try? await loop.submit {
            tracker.acceptingCalls = false
            proxy?.acceptingCalls = false
        }.get()
        logger.notice("draining: new calls are refused (503); live calls may finish")
    }

    /// Calls still ringing or active.
    func liveCallCount() async -> Int {
        guard let loop = sipLoop, let tracker else { return 0 }
        // A mirror cannot end calls itself: it does not hold a drain open for them (their data is safe in the store).
        guard options.mode != .mirror else { return 0 }
        return (try? await loop.submit { tracker.liveCallCount }.get()) ?? 0
    }

    /// Listeners bound, not draining, and the store takes a commit.
    func isReady() async -> Bool {
        guard started, !draining, let writer else { return false }
        do {
            try await writer.commit { _ in }
            return true
        } catch {
            return false
        }
    }

    /// Stops listening, gives deliveries a last chance, commits what is queued.
    public func shutdown() {
        // Calls still lingering go to the outbox now, so the last try below includes them.
        if let flusher { _ = try? flusher.flushLingering().wait() }
        if let writer { try? writer.perform { _ in } }
        sweeper?.cancel()
        pruner?.cancel()
        for channel in channels { try? channel.close().wait() }
        channels = []
        worker?.stop(graceMs: 2_000)
        writer?.close()
        try? sipGroup.syncShutdownGracefully()
        try? agentGroup.syncShutdownGracefully()
        try? FileManager.default.removeItem(atPath: options.socketPath)
        logger.notice("bluejay-sidecar stopped")
    }
}
