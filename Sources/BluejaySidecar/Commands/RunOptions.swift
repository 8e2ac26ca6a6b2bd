import ArgumentParser
import BluejayProxy
import BluejayDelivery
import Configuration
import Foundation
import Logging
import SystemPackage

/// Every setting of `run`, from flags, `BLUEJAY_SIDECAR_*` environment variables and a YAML/JSON file,
/// in that order of precedence over the defaults. Keys are the flag names with `_` for `-`
/// (`--linger-ms` ↔ `linger_ms` in the file ↔ `BLUEJAY_SIDECAR_LINGER_MS`).
struct RunOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (YAML, or JSON by its .json extension).") var config: String?
    @Option(name: .long, help: "Operating mode: uas (answer calls), proxy (relay to --upstream) or mirror (follow copies of the signalling, HEP v3 or plain SIP). [default: uas]") var mode: String?
    @Option(name: .long, help: "Mode proxy: the agent's SIP endpoint, sip:HOST:PORT[;transport=tcp] (numeric host).") var upstream: String?
    @Option(name: .long, help: ArgumentHelp("Mode mirror: where copies arrive, repeatable: udp://HOST:PORT (HEP v3 and plain SIP on the same port). [default: udp://0.0.0.0:9060]", valueName: "url"))
    var mirror: [String] = []
    @Option(name: .long, help: ArgumentHelp("SIP listener, repeatable: udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (needs --tls-cert/--tls-key); IPv6 as [::]. [default: udp://0.0.0.0:5060, tcp://0.0.0.0:5060]", valueName: "url"))
    var sip: [String] = []
    @Option(name: .long, help: ArgumentHelp("Take SIP only from these sources, repeatable: an IPv4/IPv6 address or CIDR (mode proxy adds the upstream). Others: datagrams dropped, connections closed. [default: any source]", valueName: "cidr"))
    var sipAllow: [String] = []
    @Option(name: .long, help: "New calls (initial INVITEs) a second per source IP, bursts up to the same; over it 503 + Retry-After. 0 is off. [default: 0]") var sipRateLimit: String?
    @Option(name: .long, help: "Calls ringing or active at once per source IP; more get 503 + Retry-After. 0 is off. [default: 0]") var sipCallsPerSource: String?
    @Option(name: .long, help: "PEM certificate (chain) of the tls:// SIP listeners.") var tlsCert: String?
    @Option(name: .long, help: "PEM private key (unencrypted) of the tls:// SIP listeners.") var tlsKey: String?
    @Option(name: .long, help: ArgumentHelp("Agent socket: besides mode 0660, only peers with this uid (number or user name), repeatable. [default: no check]", valueName: "uid"))
    var socketAllowUid: [String] = []
    @Option(name: .long, help: ArgumentHelp("Agent socket: besides mode 0660, only peers with this primary gid (number or group name), repeatable. [default: no check]", valueName: "gid"))
    var socketAllowGid: [String] = []
    @Option(name: .long, help: "Agent socket path. [default: $XDG_RUNTIME_DIR/bluejay-sidecar.sock, else /tmp/bluejay-sidecar.sock]") var socket: String?
    @Option(name: .long, help: "Directory of the durable store. [default: ./bluejay-sidecar-data]") var dataDir: String?
    @Option(name: .long, help: "Bluejay API base URL (env BLUEJAY_API_URL). [default: https://api.getbluejay.ai]") var bluejayURL: String?
    @Option(name: .long, help: "File holding the Bluejay API key (else env BLUEJAY_API_KEY; none → dry-run).") var apiKeyFile: String?
    @Option(name: .long, help: "Dry-run output directory. [default: <data-dir>/dry-run]") var dryRun: String?
    @Option(name: .long, help: "Milliseconds to wait after a call ends for late agent records. [default: 2000]") var lingerMs: String?
    @Option(name: .long, help: "Concurrent calls before new INVITEs get 503. [default: 10000]") var maxCalls: String?
    @Option(name: .long, help: "Ring (180) this many milliseconds before answering. [default: 0]") var ringMs: String?
    @Option(name: .long, help: "Host for Contact and SDP. [default: the Request-URI's host]") var advertiseHost: String?
    @Option(name: .long, help: "First delivery retry delay, ms. [default: 1000]") var retryInitialMs: String?
    @Option(name: .long, help: "Longest delivery retry delay, ms. [default: 300000]") var retryMaxMs: String?
    @Option(name: .long, help: "Timeout of one POST to Bluejay, ms. [default: 10000]") var httpTimeoutMs: String?
    @Option(name: .long, help: "Seconds a peer may take to send one whole message once it has begun (an HTTP request, SIP over TCP); also how long an idle HTTP connection is kept. [default: 20]") var readTimeout: String?
    @Option(name: .long, help: "HTTP listener HOST:PORT (webhook, admin API, metrics, status page); off disables it. [default: 127.0.0.1:9090]") var http: String?
    @Option(name: .long, help: "Bearer token for admin routes (env BLUEJAY_SIDECAR_ADMIN_TOKEN); without one they answer loopback only.") var adminToken: String?
    @Option(name: .long, help: "File holding Bluejay's webhook secret (else env BLUEJAY_WEBHOOK_SECRET).") var webhookSecretFile: String?
    @Option(name: .long, help: "Seconds a SIGTERM waits for live calls to end before closing. [default: 30]") var drainTimeout: String?
    @Option(name: .long, help: "Longest call: one still up after this long (no BYE, or a BYE that never arrived) is ended and flushed, marked end_reason max_call_duration. Seconds, or a number with ms, s, m, h or d (1s to 30d). [default: 4h]") var maxCallDuration: String?
    @Option(name: .long, help: "Days to keep flushed calls' records and delivered bodies (dead letters are kept). [default: 7]") var retentionDays: String?
    @Option(name: .long, help: "SIP-derived events (answered, DTMF, hold/resume, transfer, ended) in each call's body: on or off. [default: on]") var sipEvents: String?
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical. [default: info]") var logLevel: String?
    @Option(name: .long, help: "Log format: text or json. [default: text]") var logFormat: String?

    /// The effective settings, and where each came from (for `config check`).
    struct Resolved {
        var options: SidecarOptions
        var logLevel: Logger.Level
        var logFormat: LogFormat
        var drainTimeoutSeconds: Int
        var sources: [(key: String, value: String, source: String)]
    }

    enum LogFormat: String { case text, json }

    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Resolved {
        let sources = try await ConfigSources.load(file: config ?? environment["BLUEJAY_SIDECAR_CONFIG"], environment: environment)
        var shown: [(String, String, String)] = []
        /// flag > env > file > default, recording the winner.
        func value(_ key: String, _ flag: String?, default fallback: String?) -> String? {
            if let flag { shown.append((key, flag, "flag")); return flag }
            if let (v, source) = sources.string(key) { shown.append((key, v, source)); return v }
            if let fallback { shown.append((key, fallback, "default")) }
            return fallback
        }
        func int(_ key: String, _ flag: String?, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
            let text = value(key, flag, default: String(fallback))!
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
                throw ConfigError.invalid(key: key, value: text, allowed: "a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return v
        }

        /// A repeatable setting: the flags, else env (comma-separated) or the file's list, else nothing.
        func list(_ key: String, _ flags: [String], default shownDefault: String) -> [String] {
            if !flags.isEmpty { shown.append((key, flags.joined(separator: " "), "flag")); return flags }
            if let (items, source) = sources.strings(key) {
                let values = items.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
                shown.append((key, values.joined(separator: " "), source))
                return values
            }
            shown.append((key, shownDefault, "default"))
            return []
        }

        var o = SidecarOptions(socketPath: value("socket", socket, default: SidecarOptions.defaultSocketPath)!)
        let modeText = value("mode", self.mode, default: "uas")!
        guard let mode = SidecarOptions.Mode(rawValue: modeText) else {
            throw ConfigError.invalid(key: "mode", value: modeText, allowed: "uas, proxy or mirror")
        }
        o.mode = mode
        o.upstream = value("upstream", upstream, default: nil)
        if mode == .proxy {
            guard let up = o.upstream, ProxyUpstream(uri: up) != nil else {
                throw ConfigError.invalid(key: "upstream", value: o.upstream ?? "(none)",
                                          allowed: "sip:HOST:PORT[;transport=tcp] with a numeric host, required by mode proxy")
            }
        }
        if !mirror.isEmpty {
            o.mirrorListeners = try mirror.map(ListenAddress.init(parsing:))
            shown.append(("mirror", mirror.joined(separator: " "), "flag"))
        } else if let (list, source) = sources.strings("mirror") {
            o.mirrorListeners = try list.map(ListenAddress.init(parsing:))
            shown.append(("mirror", list.joined(separator: " "), source))
        } else if mode == .mirror {
            shown.append(("mirror", o.mirrorListeners.map(\.description).joined(separator: " "), "default"))
        }
        let listeners: [String]
        if !sip.isEmpty {
            listeners = sip
            shown.append(("sip", sip.joined(separator: " "), "flag"))
        } else if let (list, source) = sources.strings("sip") {
            listeners = list
            shown.append(("sip", list.joined(separator: " "), source))
        } else {
            listeners = ListenAddress.defaults.map(\.description)
            shown.append(("sip", listeners.joined(separator: " "), "default"))
        }
        o.sipListeners = try listeners.map(ListenAddress.init(parsing:))
        o.sipAllow = try list("sip_allow", sipAllow, default: "(any source)").map { try IPPrefix(parsing: $0, key: "sip_allow") }
        o.sourceLimits.invitesPerSecond = try int("sip_rate_limit", sipRateLimit, default: 0, range: 0...100_000)
        o.sourceLimits.callsPerSource = try int("sip_calls_per_source", sipCallsPerSource, default: 0, range: 0...1_000_000)
        let certPath = value("tls_cert", tlsCert, default: nil)
        let keyPath = value("tls_key", tlsKey, default: nil)
        let tlsListeners = o.sipListeners.filter { $0.transport == .tls }
        if mode == .proxy, let listener = tlsListeners.first {
            throw ConfigError.invalid(key: "sip", value: listener.description, allowed: "udp:// or tcp:// in mode proxy (tls:// listeners are for mode uas)")
        }
        switch (certPath, keyPath) {
        case (let cert?, let key?): o.tls = try SIPTLSIdentity(certificatePath: cert, keyPath: key)
        case (nil, nil):
            if mode == .uas, let listener = tlsListeners.first {
                throw ConfigError.invalid(key: "sip", value: listener.description, allowed: "a tls:// listener together with tls_cert and tls_key (PEM files)")
            }
        case (nil, _?): throw ConfigError.invalid(key: "tls_cert", value: "(none)", allowed: "a PEM certificate file, required with tls_key")
        case (_?, nil): throw ConfigError.invalid(key: "tls_key", value: "(none)", allowed: "a PEM private key file, required with tls_cert")
        }
        o.socketAllowUIDs = try list("socket_allow_uid", socketAllowUid, default: "(any)").map { try Self.id($0, key: "socket_allow_uid") }
        o.socketAllowGIDs = try list("socket_allow_gid", socketAllowGid, default: "(any)").map { try Self.id($0, key: "socket_allow_gid") }
        o.dataDirectory = value("data_dir", dataDir, default: "./bluejay-sidecar-data")!
        o.bluejayURL = value("bluejay_url", bluejayURL ?? environment["BLUEJAY_API_URL"].flatMap { $0.isEmpty ? nil : $0 },
                             default: "https://api.getbluejay.ai")!
        guard o.bluejayURL.hasPrefix("http://") || o.bluejayURL.hasPrefix("https://") else {
            throw ConfigError.invalid(key: "bluejay_url", value: o.bluejayURL, allowed: "an http:// or https:// URL")
        }
        o.apiKey = try Self.secret(file: value("api_key_file", apiKeyFile, default: nil), env: environment["BLUEJAY_API_KEY"], key: "api_key_file")
        shown.append(("api_key", o.apiKey == nil ? "(none: dry-run)" : "<redacted>", apiKeyFile != nil ? "file" : "env"))
        o.dryRunDirectory = value("dry_run", dryRun, default: nil)
        o.lingerMs = Int64(try int("linger_ms", lingerMs, default: 2_000, range: 0...3_600_000))
        o.uas.maxCalls = try int("max_calls", maxCalls, default: 10_000, range: 1...1_000_000)
        o.uas.ringMs = Int64(try int("ring_ms", ringMs, default: 0, range: 0...600_000))
        o.uas.advertisedHost = value("advertise_host", advertiseHost, default: nil)
        let initial = try int("retry_initial_ms", retryInitialMs, default: 1_000, range: 1...86_400_000)
        let max = try int("retry_max_ms", retryMaxMs, default: 300_000, range: 1...86_400_000)
        guard max >= initial else {
            throw ConfigError.invalid(key: "retry_max_ms", value: String(max), allowed: "at least retry_initial_ms (\(initial))")
        }
        o.retry = RetryPolicy(initialMs: Int64(initial), maxMs: Int64(max))
        o.httpTimeoutMs = try int("http_timeout_ms", httpTimeoutMs, default: 10_000, range: 1...600_000)
        o.readTimeoutSeconds = try int("read_timeout", readTimeout, default: 20, range: 1...3_600)
        let httpText = value("http", http, default: "127.0.0.1:9090")!
        do { o.http = try RunCommand.parseHTTP(httpText) } catch {
            throw ConfigError.invalid(key: "http", value: httpText, allowed: "HOST:PORT (IPv6 as [::1]:9090) or off")
        }
        let token = adminToken ?? sources.string("admin_token").map(\.0)
        o.adminToken = token?.isEmpty == false ? token : nil
        shown.append(("admin_token", o.adminToken == nil ? "(none: admin routes loopback only)" : "<redacted>", adminToken != nil ? "flag" : "env/file"))
        o.webhookSecret = try Self.secret(file: value("webhook_secret_file", webhookSecretFile, default: nil),
                                          env: environment["BLUEJAY_WEBHOOK_SECRET"], key: "webhook_secret_file")
        shown.append(("webhook_secret", o.webhookSecret == nil ? "(none: webhook unauthenticated)" : "<redacted>", "env/file"))
        let events = value("sip_events", sipEvents, default: "on")!
        guard events == "on" || events == "off" else { throw ConfigError.invalid(key: "sip_events", value: events, allowed: "on or off") }
        o.uas.sipEvents = events == "on"
        let drain = try int("drain_timeout", drainTimeout, default: 30, range: 0...3_600)
        let longest = value("max_call_duration", maxCallDuration, default: "4h")!
        guard let longestMs = Self.durationMs(longest), (1_000...Self.maxCallDurationLimitMs).contains(longestMs) else {
            throw ConfigError.invalid(key: "max_call_duration", value: longest,
                                      allowed: "a duration from 1s to 30d: seconds, or a number with ms, s, m, h or d (e.g. 4h)")
        }
        o.maxCallDurationMs = longestMs
        o.retentionDays = try int("retention_days", retentionDays, default: 7, range: 1...3_650)
        let levelText = value("log_level", logLevel, default: "info")!
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ConfigError.invalid(key: "log_level", value: levelText, allowed: "trace, debug, info, notice, warning, error or critical")
        }
        let formatText = value("log_format", logFormat, default: "text")!
        guard let format = LogFormat(rawValue: formatText) else {
            throw ConfigError.invalid(key: "log_format", value: formatText, allowed: "text or json")
        }
        return Resolved(options: o, logLevel: level, logFormat: format, drainTimeoutSeconds: drain,
                        sources: shown.map { (key: $0.0, value: $0.1, source: $0.2) })
    }

    static let maxCallDurationLimitMs: Int64 = 30 * 86_400_000

    /// "4h", "90m", "30s", "1500ms", "2d", or bare seconds ("7200") → milliseconds; nil when it is none of these.
    static func durationMs(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        var number = Substring(t)
        var scale: Int64 = 1_000
        for (suffix, ms) in units where t.hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = ms
            break
        }
        guard !number.isEmpty, number.allSatisfy(\.isASCII), let n = Int64(number), n >= 0,
              n <= Int64.max / scale else { return nil }
        return n * scale
    }

    /// `resolve()`, or exit 64 with the reason on stderr: what `run` and `config check` do with bad settings.
    func resolveOrExit() async throws -> Resolved {
        do {
            return try await resolve()
        } catch {
            FileHandle.standardError.write(Data("bluejay-sidecar: configuration: \(error)\n".utf8))
            throw ExitCode(64)
        }
    }

    /// A uid or gid: a number, or a user (`socket_allow_uid`) or group (`socket_allow_gid`) name known to the system.
    static func id(_ text: String, key: String) throws -> UInt32 {
        if let number = UInt32(text) { return number }
        let isUser = key.hasSuffix("uid")
        if isUser, let entry = getpwnam(text) { return entry.pointee.pw_uid }
        if !isUser, let entry = getgrnam(text) { return entry.pointee.gr_gid }
        throw ConfigError.invalid(key: key, value: text, allowed: isUser ? "a numeric uid or an existing user name" : "a numeric gid or an existing group name")
    }

    /// A secret from a file or the environment, trimmed. Its value never appears in a message.
    static func secret(file: String?, env: String?, key: String) throws -> String? {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ConfigError.unusable("cannot read \(key) \(file)") }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw ConfigError.unusable("\(key) \(file) is empty") }
            return value
        }
        let value = env?.trimmingCharacters(in: .whitespacesAndNewlines)
        return value?.isEmpty == false ? value : nil
    }
}

/// The configuration file and `BLUEJAY_SIDECAR_*` variables, read through swift-configuration.
struct ConfigSources {
    let environment: ConfigReader
    let file: ConfigReader?

    static func load(file path: String?, environment: [String: String]) async throws -> ConfigSources {
        let env = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "bluejay_sidecar"))
        guard let path else { return ConfigSources(environment: env, file: nil) }
        guard FileManager.default.isReadableFile(atPath: path) else { throw ConfigError.unusable("cannot read configuration file \(path)") }
        do {
            let provider: any ConfigProvider = path.hasSuffix(".json")
                ? try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
                : try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            return ConfigSources(environment: env, file: ConfigReader(provider: provider))
        } catch {
            // The first line only: YAML's parser goes on to quote the line of the file it stopped at, which may
            // be the admin token's. Its first line says where (line:column) and what is wrong.
            let what = String(describing: error).prefix { $0 != "\n" && $0 != "\r" }
            throw ConfigError.unusable("configuration file \(path) does not parse: \(what)")
        }
    }

    func string(_ key: String) -> (String, String)? {
        if let v = environment.string(forKey: ConfigKey(key)) { return (v, "env BLUEJAY_SIDECAR_\(key.uppercased())") }
        if let file {
            if let v = file.string(forKey: ConfigKey(key)) { return (v, "file") }
            if let v = file.int(forKey: ConfigKey(key)) { return (String(v), "file") }
            if let v = file.bool(forKey: ConfigKey(key)) { return (String(v), "file") }
        }
        return nil
    }

    func strings(_ key: String) -> ([String], String)? {
        if let v = environment.stringArray(forKey: ConfigKey(key)) { return (v, "env BLUEJAY_SIDECAR_\(key.uppercased())") }
        if let v = file?.stringArray(forKey: ConfigKey(key)) { return (v, "file") }
        if let v = file?.string(forKey: ConfigKey(key)) { return ([v], "file") }
        if let v = file?.intArray(forKey: ConfigKey(key)) { return (v.map(String.init), "file") }
        if let v = file?.int(forKey: ConfigKey(key)) { return ([String(v)], "file") }
        return nil
    }
}
