import BluejayCalls

/// A SIP listener as written on the command line: `udp://0.0.0.0:5060`, `tcp://[::]:5060`, `tls://0.0.0.0:5061`.
public typealias ListenAddress = SIPEndpoint

extension SIPEndpoint {
    public init(parsing text: String) throws {
        guard let schemeEnd = text.range(of: "://") else {
            throw ConfigError.invalid(key: "sip", value: text, allowed: "udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (IPv6 as [::1])")
        }
        let transport: SIPTransport
        switch text[..<schemeEnd.lowerBound].lowercased() {
        case "udp": transport = .udp
        case "tcp": transport = .tcp
        case "tls": transport = .tls
        default: throw ConfigError.invalid(key: "sip", value: text, allowed: "scheme udp, tcp or tls")
        }
        var rest = text[schemeEnd.upperBound...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let hostPart: Substring
        let portPart: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw ConfigError.invalid(key: "sip", value: text, allowed: "IPv6 address in brackets, e.g. udp://[::]:5060")
            }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            portPart = after.hasPrefix(":") ? after.dropFirst() : (after.isEmpty ? nil : after)
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        } else {
            hostPart = rest
            portPart = nil
        }
        guard !hostPart.isEmpty else { throw ConfigError.invalid(key: "sip", value: text, allowed: "a host, e.g. 0.0.0.0") }
        var port = transport == .tls ? 5061 : 5060
        if let portPart {
            guard let p = Int(portPart), (0...65_535).contains(p) else {
                throw ConfigError.invalid(key: "sip", value: text, allowed: "a port 0-65535")
            }
            port = p
        }
        self.init(transport: transport, host: String(hostPart), port: port)
    }

    public static let defaults = [ListenAddress(transport: .udp, host: "0.0.0.0", port: 5060),
                                  ListenAddress(transport: .tcp, host: "0.0.0.0", port: 5060)]
}

/// A configuration value that cannot be used, named with what would be accepted.
public enum ConfigError: Error, CustomStringConvertible {
    case invalid(key: String, value: String, allowed: String)
    case unusable(String)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let allowed): return "invalid \(key) '\(value)': expected \(allowed)"
        case .unusable(let why): return why
        }
    }
}
