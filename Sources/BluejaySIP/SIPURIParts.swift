import COSIP2

/// The routing-relevant parts of a SIP URI (RFC 3261 §19.1), copied out of libosip2: enough to pick the
/// next hop of a request (§16.5, §16.12) without DNS.
public struct SIPURIParts: Equatable, Sendable {
    /// "sip" or "sips", lowercased.
    public var scheme: String
    public var user: String?
    /// IPv6 references without brackets.
    public var host: String
    public var port: Int?
    /// The `transport` parameter, lowercased ("udp", "tcp", ...).
    public var transport: String?
    /// The `lr` parameter is present (loose routing, RFC 3261 §19.1.1).
    public var lr: Bool
    public var maddr: String?
    /// The URI as libosip2 serialises it.
    public var text: String

    public init(scheme: String = "sip", user: String? = nil, host: String, port: Int? = nil, transport: String? = nil,
                lr: Bool = false, maddr: String? = nil, text: String) {
        self.scheme = scheme
        self.user = user
        self.host = host
        self.port = port
        self.transport = transport
        self.lr = lr
        self.maddr = maddr
        self.text = text
    }

    /// Parses a URI such as `sip:127.0.0.1:5080;transport=tcp` with libosip2; nil if it does not parse or has no host.
    public static func parse(_ text: String) -> SIPURIParts? {
        OSIP.ensureInitialised()
        var raw: UnsafeMutablePointer<osip_uri_t>?
        guard osip_uri_init(&raw) == 0, let uri = raw else { return nil }
        defer { osip_uri_free(uri) }
        guard text.withCString({ osip_uri_parse(uri, $0) }) == 0 else { return nil }
        return SIPURIParts(uri)
    }

    /// nil without a host or with a port outside 0-65535.
    init?(_ uri: UnsafeMutablePointer<osip_uri_t>) {
        guard let hostPointer = uri.pointee.host, hostPointer.pointee != 0 else { return nil }
        var port: Int?
        if let portPointer = uri.pointee.port, portPointer.pointee != 0 {
            guard let value = ASCII.parseDigits(portPointer, limit: 65_535) else { return nil }
            port = value
        }
        let params = UnsafePointer(uri.field(\.url_params))
        self.init(
            scheme: OSIP.string(uri.pointee.scheme).map(ASCII.lowercased) ?? "sip",
            user: OSIP.string(uri.pointee.username),
            host: SIPVia.unbracketed(String(cString: hostPointer)),
            port: port,
            transport: OSIP.param(params, "transport").flatMap { OSIP.string($0.pointee.gvalue) }.map(ASCII.lowercased),
            lr: OSIP.param(params, "lr") != nil,
            maddr: OSIP.param(params, "maddr").flatMap { OSIP.string($0.pointee.gvalue) }.map(SIPVia.unbracketed),
            text: OSIP.serialise(UnsafePointer(uri), osip_uri_to_str) ?? ""
        )
    }

    /// True when the host is an IPv4 or IPv6 literal, i.e. routable without DNS.
    public var hasNumericHost: Bool { SIPURIParts.isNumeric(maddr ?? host) }

    public static func isNumeric(_ host: String) -> Bool {
        if host.contains(":") { return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
        }
    }
}
