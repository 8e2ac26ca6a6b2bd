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

    @Option(name: .long, help: "Operating mode. Only 'uas' (answer calls) in this release.")
    var mode: String = "uas"

    @Option(name: .long, help: ArgumentHelp("SIP listener, repeatable: udp://HOST:PORT or tcp://HOST:PORT; IPv6 as [::].", valueName: "url"))
    var sip: [String] = []

    @Option(name: .long, help: "Agent socket path (default $XDG_RUNTIME_DIR/bluejay-sidecar.sock, else /tmp/bluejay-sidecar.sock).")
    var socket: String?

    @Option(name: .long, help: "Directory of the durable store.")
    var dataDir: String = "./bluejay-sidecar-data"

    @Option(name: .long, help: "Bluejay API base URL (env BLUEJAY_API_URL).")
    var bluejayURL: String?

    @Option(name: .long, help: "File holding the Bluejay API key (else env BLUEJAY_API_KEY; none → dry-run).")
    var apiKeyFile: String?

    @Option(name: .long, help: "Dry-run output directory (default <data-dir>/dry-run).")
    var dryRun: String?

    @Option(name: .long, help: "Milliseconds to wait after a call ends for late agent records.")
    var lingerMs: Int64 = 2_000

    @Option(name: .long, help: "Concurrent calls before new INVITEs get 503.")
    var maxCalls: Int = 10_000

    @Option(name: .long, help: "Ring (180) this many milliseconds before answering.")
    var ringMs: Int64 = 0

    @Option(name: .long, help: "Host for Contact and SDP (default: the Request-URI's host).")
    var advertiseHost: String?

    @Option(name: .long, help: "First delivery retry delay, milliseconds.")
    var retryInitialMs: Int64 = 1_000

    @Option(name: .long, help: "Longest delivery retry delay, milliseconds.")
    var retryMaxMs: Int64 = 300_000

    @Option(name: .long, help: "Timeout of one POST to Bluejay, milliseconds.")
    var httpTimeoutMs: Int = 10_000

    @Option(name: .long, help: "HTTP listener HOST:PORT for the webhook, admin API, metrics and status page; 'off' disables it.")
    var http: String = "127.0.0.1:9090"

    @Option(name: .long, help: "Bearer token for admin routes (env BLUEJAY_SIDECAR_ADMIN_TOKEN); without one they answer loopback only.")
    var adminToken: String?

    @Option(name: .long, help: "File holding Bluejay's webhook secret (else env BLUEJAY_WEBHOOK_SECRET).")
    var webhookSecretFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard mode == "uas" else { throw ValidationError("invalid --mode '\(mode)': expected uas") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("invalid --log-level '\(logLevel)': expected trace, debug, info, notice, warning, error or critical")
        }
        guard lingerMs >= 0 else { throw ValidationError("invalid --linger-ms '\(lingerMs)': expected 0 or more") }
        guard maxCalls > 0 else { throw ValidationError("invalid --max-calls '\(maxCalls)': expected 1 or more") }
        guard ringMs >= 0 else { throw ValidationError("invalid --ring-ms '\(ringMs)': expected 0 or more") }
        guard retryInitialMs > 0, retryMaxMs >= retryInitialMs else {
            throw ValidationError("invalid --retry-initial-ms/--retry-max-ms: expected 0 < initial <= max")
        }
        guard httpTimeoutMs > 0 else { throw ValidationError("invalid --http-timeout-ms '\(httpTimeoutMs)': expected 1 or more") }
    }

    func options() throws -> SidecarOptions {
        var o = SidecarOptions(socketPath: socket ?? SidecarOptions.defaultSocketPath)
        if !sip.isEmpty { o.sipListeners = try sip.map(ListenAddress.init(parsing:)) }
        o.dataDirectory = dataDir
        o.bluejayURL = bluejayURL ?? ProcessEnvironment.value("BLUEJAY_API_URL").flatMap { $0.isEmpty ? nil : $0 } ?? o.bluejayURL
        guard o.bluejayURL.hasPrefix("http://") || o.bluejayURL.hasPrefix("https://") else {
            throw ConfigError.invalid(key: "bluejay-url", value: o.bluejayURL, allowed: "an http:// or https:// URL")
        }
        o.apiKey = try secret(flag: nil, file: apiKeyFile, env: "BLUEJAY_API_KEY", name: "api-key-file")
        o.dryRunDirectory = dryRun
        o.lingerMs = lingerMs
        o.uas.maxCalls = maxCalls
        o.uas.ringMs = ringMs
        o.uas.advertisedHost = advertiseHost
        o.retry = RetryPolicy(initialMs: retryInitialMs, maxMs: retryMaxMs)
        o.httpTimeoutMs = httpTimeoutMs
        o.http = try Self.parseHTTP(http)
        o.adminToken = try secret(flag: adminToken, file: nil, env: "BLUEJAY_SIDECAR_ADMIN_TOKEN", name: "admin-token")
        o.webhookSecret = try secret(flag: nil, file: webhookSecretFile, env: "BLUEJAY_WEBHOOK_SECRET", name: "webhook-secret-file")
        return o
    }

    /// A secret from a flag, a file or the environment, trimmed; a file that cannot be read or is empty is an error.
    /// The value itself never appears in a message.
    private func secret(flag: String?, file: String?, env: String, name: String) throws -> String? {
        if let flag { return flag.isEmpty ? nil : flag }
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ConfigError.unusable("cannot read --\(name) \(file)") }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw ConfigError.unusable("--\(name) \(file) is empty") }
            return value
        }
        let value = ProcessEnvironment.value(env)?.trimmingCharacters(in: .whitespacesAndNewlines)
        return value?.isEmpty == false ? value : nil
    }

    static func parseHTTP(_ text: String) throws -> (host: String, port: Int)? {
        if text == "off" { return nil }
        let address = try ListenAddress(parsing: "tcp://" + text)
        return (address.host, address.port)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "bluejay-sidecar")
        let options: SidecarOptions
        do {
            options = try self.options()
        } catch {
            logger.critical("configuration: \(error)")
            throw ExitCode(64)
        }
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let sidecar = Sidecar(options: options, logger: logger)
        do {
            try sidecar.start()
        } catch {
            logger.critical("could not start: \(error)")
            sidecar.shutdown()
            throw ExitCode(70)
        }
        do {
            try await SidecarService.run(sidecar, metrics: metrics, logger: logger)
        } catch {
            logger.critical("stopped on error: \(error)")
            sidecar.shutdown()
            throw ExitCode(70)
        }
        logger.notice("signal received, stopping")
        sidecar.shutdown()
    }
}
