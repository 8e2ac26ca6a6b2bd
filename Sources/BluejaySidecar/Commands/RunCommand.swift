import ArgumentParser
import BluejayCalls
import BluejayDelivery
import Dispatch
import Foundation
import Logging
import Metrics
import Prometheus

/// Exit codes: 0 stopped by signal, 64 bad configuration, 70 could not start (bind, store).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the sidecar (the default).")

    @OptionGroup var settings: RunOptions

    static func parseHTTP(_ text: String) throws -> (host: String, port: Int)? {
        if text == "off" { return nil }
        // The port is required: an HTTP listener on SIP's default port would be a surprise.
        let hostEnd = text.hasPrefix("[") ? (text.firstIndex(of: "]") ?? text.endIndex) : text.startIndex
        guard text[hostEnd...].contains(":") else { throw ConfigError.invalid(key: "http", value: text, allowed: "HOST:PORT or off") }
        let address = try ListenAddress(parsing: "tcp://" + text)
        return (address.host, address.port)
    }

    func run() async throws {
        let resolved = try await settings.resolveOrExit()
        let logLevel = LogLevelBox(resolved.logLevel)
        let format = resolved.logFormat
        LoggingSystem.bootstrap { label in
            LiveLevelLogHandler(upstream: StderrLogHandler(label: label, format: format), level: logLevel)
        }
        let logger = Logger(label: "bluejay-sidecar")
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let sidecar = Sidecar(options: resolved.options, logger: logger)
        do {
            try sidecar.start()
        } catch {
            logger.critical("could not start: \(error)")
            sidecar.shutdown()
            throw ExitCode(70)
        }
        let settings = self.settings
        let reload: @Sendable () async -> RunOptions.Resolved? = {
            do {
                let fresh = try await settings.resolve()
                logLevel.level = fresh.logLevel
                return fresh
            } catch {
                logger.error("SIGHUP: configuration not reloaded, the running one stays: \(error)")
                return nil
            }
        }
        do {
            try await SidecarService.run(sidecar, metrics: metrics, drainSeconds: resolved.drainTimeoutSeconds, reload: reload, logger: logger)
        } catch {
            logger.critical("stopped on error: \(error)")
            sidecar.shutdown()
            throw ExitCode(70)
        }
        sidecar.shutdown()
    }
}
