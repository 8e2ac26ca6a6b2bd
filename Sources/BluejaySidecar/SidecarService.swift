import BluejayWebhook
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// Runs a started sidecar and its HTTP listener under swift-service-lifecycle: SIGTERM/SIGINT begin a
/// graceful shutdown, after which the sidecar closes its listeners, gives deliveries a last try and commits.
enum SidecarService {
    static func run(_ sidecar: Sidecar, metrics: PrometheusCollectorRegistry, drainSeconds: Int,
                    reload: @escaping @Sendable () async -> RunOptions.Resolved?, logger: Logger) async throws {
        let options = sidecar.options
        var webhookEndpoint: WebhookEndpoint?
        var services: [any Service] = []
        let ready: @Sendable (String?) -> Void = { http in
            logger.notice("bluejay-sidecar ready", metadata: [
                "mode": "\(options.mode.rawValue)",
                "sip": "\(sidecar.boundSIP.map(\.description).joined(separator: " "))",
                "socket": "\(options.socketPath)",
                "http": "\(http ?? "off")",
                "data_dir": "\(options.dataDirectory)",
                "allocator": "\(ProcessAllocator.library)",
            ])
        }
        if let http = options.http, let writer = sidecar.store, let reader = sidecar.reader {
            let actions = WebhookActions(outbound: sidecar.outbound, simulationEnded: { sidecar.simulationEnded($0) })
            let webhook = WebhookEndpoint(writer: writer, secret: options.webhookSecret, actions: actions, logger: logger)
            webhookEndpoint = webhook
            let admin = AdminAPI(registry: sidecar.registry, reader: reader, writer: writer, wakeDelivery: { sidecar.wakeDelivery() })
            let routes = HTTPRoutes(admin: admin, webhook: webhook, metrics: metrics, adminToken: options.adminToken,
                                    isReady: { await sidecar.isReady() })
            var httpLogger = logger
            httpLogger[metadataKey: "component"] = "http"
            let readTimeout = TimeAmount.seconds(Int64(options.readTimeoutSeconds))
            let server = HTTPServerBuilder.http1(configuration: .init(
                additionalChannelHandlers: [RequestReadDeadline(timeout: readTimeout)], idleTimeout: readTimeout))
            let app = Application(router: routes.router(), server: server,
                                  configuration: .init(address: .hostname(http.host, port: http.port), serverName: "bluejay-sidecar"),
                                  onServerRunning: { channel in ready(channel.localAddress?.description) },
                                  logger: httpLogger)
            services.append(app)
        } else {
            ready(nil)
        }
        // Shut down in reverse order: the drainer first (HTTP keeps serving while calls drain), then HTTP.
        let webhook = webhookEndpoint
        services.append(Reloader(reload: {
            guard let resolved = await reload() else { return }
            let fresh = resolved.options
            await sidecar.reload(fresh)
            webhook?.setSecret(fresh.webhookSecret)
            // Only now: whoever waits for this line (an operator, a test) sees the new configuration in force.
            logger.notice("configuration reloaded (SIGHUP)", metadata: ["log_level": "\(resolved.logLevel)", "linger_ms": "\(fresh.lingerMs)"])
        }))
        services.append(Drainer(sidecar: sidecar, seconds: drainSeconds, logger: logger))
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// On graceful shutdown: refuse new calls, let live ones end (up to the drain timeout), then let the group go on.
private struct Drainer: Service {
    let sidecar: Sidecar
    let seconds: Int
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await sidecar.beginDrain()
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let live = await sidecar.liveCallCount()
            if live == 0 { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        let left = await sidecar.liveCallCount()
        if left > 0 { logger.warning("drain timeout: closing with live calls", metadata: ["calls": "\(left)"]) }
    }
}

/// SIGHUP reloads what can change while running.
private struct Reloader: Service {
    let reload: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in await UnixSignalsSequence(trapping: .sighup) { await reload() }
        }
    }
}
