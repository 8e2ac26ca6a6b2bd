import COSIP2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Via header value (RFC 3261 §20.42) copied out of libosip2, so the caller can route responses
/// (RFC 3261 §18.2.2, RFC 3581) without touching C memory.
public struct SIPVia: Equatable, Sendable {
    /// "UDP", "TCP", "TLS", ... uppercased.
    public var transport: String
    /// sent-by host; IPv6 references without brackets.
    public var host: String
    /// sent-by port, if given.
    public var port: Int?
    public var branch: String?
    /// `received` parameter; IPv6 without brackets (RFC 5118 §4.5 allows both spellings).
    public var received: String?
    public var rport: SIPViaRPort
    /// `maddr` parameter; IPv6 without brackets.
    public var maddr: String?
    public var ttl: Int?

    /// `maddr` when it is an address a response can go to (RFC 3261 §18.2.2). A name is not: resolving it would
    /// stop the SIP loop for as long as DNS takes, and any peer can write one; the response then goes where the
    /// other rules say, as it would without `maddr`.
    public var addressMaddr: String? {
        guard let maddr, !maddr.isEmpty, SIPURIParts.isNumeric(maddr) else { return nil }
        return maddr
    }

    public init(transport: String, host: String, port: Int? = nil, branch: String? = nil,
                received: String? = nil, rport: SIPViaRPort = .absent, maddr: String? = nil, ttl: Int? = nil) {
        self.transport = transport
        self.host = host
        self.port = port
        self.branch = branch
        self.received = received
        self.rport = rport
        self.maddr = maddr
        self.ttl = ttl
    }

    /// Whether libosip2's Via can be routed to: a host, and a port (if any) in 0-65535. Validation asks this
    /// of every Via of every message, without copying them out.
    static func isRoutable(_ via: UnsafeMutablePointer<osip_via_t>) -> Bool {
        guard let host = via.pointee.host, host.pointee != 0 else { return false }
        guard let port = via.pointee.port else { return true }
        return ASCII.parseDigits(port, limit: 65_535) != nil
    }

    /// Why libosip2 would not write this Via back as itself, or nil. The transport must be a token and the host
    /// free of spaces, slashes, commas and quotes: a Via opening with a quote (`Via: "SIP/2.0/Ux, SIP/2.0/UDP h`)
    /// hides its comma from libosip2, which then takes `Ux,` as the transport and `SIP/2.0/UDP h` as the host, and
    /// writes both back as two Vias, the first unusable (found by fuzzing). A parameter name must be a token and a
    /// value a token or host (no space, comma or quote) or a whole quoted string (RFC 3261 generic-param):
    /// libosip2 takes an unquoted name or value up to the next ';', commas and spaces included, so `branch=x,
    /// SIP/2.0/UDP h` or `;branch9x, SIP/2.0/UDP h:4@2` would come back out as two Vias (found by fuzzing too).
    static func writeFault(_ via: UnsafeMutablePointer<osip_via_t>) -> String? {
        guard let transport = via.pointee.protocol, ASCII.isToken(transport) else { return "Via transport is not a token" }
        if let host = via.pointee.host, ASCII.containsSpaceOrControl(host, or: "/,;\"<>") { return "Via host with a space, slash, comma or quote" }
        for param in OSIP.elements(UnsafePointer(via.field(\.via_params)), as: osip_generic_param_t.self) {
            guard let name = param.pointee.gname, ASCII.isToken(name) else { return "Via parameter name is not a token" }
            guard let value = param.pointee.gvalue else { continue }
            let length = strlen(value)
            let quote = UInt8(ascii: "\"")
            if UInt8(bitPattern: value[0]) == quote {
                if length >= 2 && UInt8(bitPattern: value[length - 1]) == quote { continue }
            } else if !(0..<length).contains(where: { i in
                let byte = UInt8(bitPattern: value[i])
                return ASCII.isWhitespace(byte) || byte == ASCII.cr || byte == ASCII.lf || byte == UInt8(ascii: ",") || byte == quote
            }) {
                continue
            }
            return "Via parameter value is neither a token nor a quoted string"
        }
        return nil
    }

    /// nil when libosip2 produced a Via we cannot route to (see `isRoutable`).
    init?(_ via: UnsafeMutablePointer<osip_via_t>) {
        guard Self.isRoutable(via), let hostPointer = via.pointee.host else { return nil }
        let port = via.pointee.port.flatMap { ASCII.parseDigits($0, limit: 65_535) }
        let params = UnsafePointer(via.field(\.via_params))
        var rport = SIPViaRPort.absent
        if let param = OSIP.param(params, "rport") {
            if let value = param.pointee.gvalue, value.pointee != 0 {
                rport = ASCII.parseDigits(value, limit: 65_535).map(SIPViaRPort.value) ?? .requested
            } else {
                rport = .requested
            }
        }
        self.init(
            transport: OSIP.string(via.pointee.protocol).map { $0.uppercased() } ?? "",
            host: SIPVia.unbracketed(String(cString: hostPointer)),
            port: port,
            branch: OSIP.param(params, "branch").flatMap { OSIP.string($0.pointee.gvalue) },
            received: OSIP.param(params, "received").flatMap { OSIP.string($0.pointee.gvalue) }.map(SIPVia.unbracketed),
            rport: rport,
            maddr: OSIP.param(params, "maddr").flatMap { OSIP.string($0.pointee.gvalue) }.map(SIPVia.unbracketed),
            ttl: OSIP.param(params, "ttl").flatMap { $0.pointee.gvalue }.flatMap { ASCII.parseDigits($0, limit: 255) }
        )
    }

    static func unbracketed(_ host: String) -> String {
        if host.utf8.first == UInt8(ascii: "["), host.utf8.last == UInt8(ascii: "]") {
            return String(host.dropFirst().dropLast())
        }
        return host
    }
}
