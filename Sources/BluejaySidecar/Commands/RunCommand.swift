import ArgumentParser
import BluejayCalls
import BluejayDelivery
import Dispatch
import Foundation
import Logging

/// Exit codes: 0 stopped by signal, 64 bad configuration, 70 could not start (bind, store).
struct RunCommand: ParsableCommand {
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
        if let file = apiKeyFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigError.unusable("cannot read --api-key-file \(file)")
            }
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw ConfigError.unusable("--api-key-file \(file) is empty") }
            o.apiKey = key
        } else if let key = ProcessEnvironment.value("BLUEJAY_API_KEY")?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty {
            o.apiKey = key
        }
        o.dryRunDirectory = dryRun
        o.lingerMs = lingerMs
        o.uas.maxCalls = maxCalls
        o.uas.ringMs = ringMs
        o.uas.advertisedHost = advertiseHost
        o.retry = RetryPolicy(initialMs: retryInitialMs, maxMs: retryMaxMs)
        o.httpTimeoutMs = httpTimeoutMs
        return o
    }

    func run() throws {
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
        let sidecar = Sidecar(options: options, logger: logger)
        do {
            try sidecar.start()
        } catch {
            logger.critical("could not start: \(error)")
            sidecar.shutdown()
            throw ExitCode(70)
        }
        waitForTermination()
        logger.notice("signal received, stopping")
        sidecar.shutdown()
    }

    /// Blocks until SIGTERM or SIGINT.
    private func waitForTermination() {
        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        done.wait()
        sources.forEach { $0.cancel() }
    }
}
