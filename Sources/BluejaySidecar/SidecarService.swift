import BluejayWebhook
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// Runs a started sidecar and its HTTP listener under swift-service-lifecycle: SIGTERM/SIGINT begin a
/// graceful shutdown, after which the sidecar closes its listeners, gives deliveries a last try and commits.
enum SidecarService {
    static func run(_ sidecar: Sidecar, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        let options = sidecar.options
        var services: [any Service] = [ShutdownWaiter()]
        let ready: @Sendable (String?) -> Void = { http in
            logger.notice("bluejay-sidecar ready", metadata: [
                "mode": "uas",
                "sip": "\(sidecar.boundSIP.map(\.description).joined(separator: " "))",
                "socket": "\(options.socketPath)",
                "http": "\(http ?? "off")",
                "data_dir": "\(options.dataDirectory)",
            ])
        }
        if let http = options.http, let writer = sidecar.store, let reader = sidecar.reader {
            let actions = WebhookActions(outbound: sidecar.outbound, simulationEnded: { sidecar.simulationEnded($0) })
            let webhook = WebhookEndpoint(writer: writer, secret: options.webhookSecret, actions: actions, logger: logger)
            let admin = AdminAPI(registry: sidecar.registry, reader: reader, writer: writer, wakeDelivery: { sidecar.wakeDelivery() })
            let routes = HTTPRoutes(admin: admin, webhook: webhook, metrics: metrics, adminToken: options.adminToken,
                                    isReady: { await sidecar.isReady() })
            var httpLogger = logger
            httpLogger[metadataKey: "component"] = "http"
            let app = Application(router: routes.router(),
                                  configuration: .init(address: .hostname(http.host, port: http.port), serverName: "bluejay-sidecar"),
                                  onServerRunning: { channel in ready(channel.localAddress?.description) },
                                  logger: httpLogger)
            services.append(app)
        } else {
            ready(nil)
        }
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Keeps the service group alive until a graceful shutdown begins.
private struct ShutdownWaiter: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
