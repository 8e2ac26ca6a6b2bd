import Foundation
import NIOCore

/// An IPv4 or IPv6 network as written in `--sip-allow`: `203.0.113.0/24`, `2001:db8::/32`, or one address
/// (`198.51.100.7` is `/32`, `::1` is `/128`). Kept as masked integers so matching a packet's source is a few
/// integer compares, no text.
struct IPPrefix: Equatable, Sendable, CustomStringConvertible {
    enum Family: Sendable { case v4, v6 }
    let family: Family
    /// The network, big-endian bytes as integers: IPv4 in `low` (32 bits); IPv6 as `high` and `low` 64-bit halves.
    let high: UInt64
    let low: UInt64
    let length: Int

    /// Throws `ConfigError.invalid` naming `key`, the text and what would be accepted.
    init(parsing text: String, key: String) throws {
        let allowed = "an IPv4 or IPv6 address or CIDR, e.g. 203.0.113.0/24, 198.51.100.7, 2001:db8::/32"
        var address = text.trimmingCharacters(in: .whitespaces)
        var length: Int?
        if let slash = address.firstIndex(of: "/") {
            guard let l = Int(address[address.index(after: slash)...]) else { throw ConfigError.invalid(key: key, value: text, allowed: allowed) }
            length = l
            address = String(address[..<slash])
        }
        if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        guard let bytes = Self.bytes(of: address) else { throw ConfigError.invalid(key: key, value: text, allowed: allowed) }
        let bits = bytes.count * 8
        let prefix = length ?? bits
        guard (0...bits).contains(prefix) else {
            throw ConfigError.invalid(key: key, value: text, allowed: "a prefix length from 0 to \(bits)")
        }
        family = bytes.count == 4 ? .v4 : .v6
        self.length = prefix
        let (h, l) = Self.words(bytes)
        let (mh, ml) = Self.mask(family, prefix)
        guard h & ~mh == 0, l & ~ml == 0 else {
            throw ConfigError.invalid(key: key, value: text, allowed: "a network address without host bits set for /\(prefix)")
        }
        high = h
        low = l
    }

    /// Whether `address` (4 or 16 bytes, network order) lies in this network. IPv4-mapped IPv6 addresses
    /// (`::ffff:192.0.2.1`) match IPv4 networks.
    func contains(high h: UInt64, low l: UInt64, family f: Family) -> Bool {
        guard f == family else { return false }
        let (mh, ml) = Self.mask(family, length)
        return h & mh == high && l & ml == low
    }

    var description: String {
        switch family {
        case .v4: return Self.text(bytes: withUnsafeBytes(of: UInt32(truncatingIfNeeded: low).bigEndian) { Array($0) }) + "/\(length)"
        case .v6:
            let bytes = withUnsafeBytes(of: high.bigEndian) { Array($0) } + withUnsafeBytes(of: low.bigEndian) { Array($0) }
            return Self.text(bytes: bytes) + "/\(length)"
        }
    }

    /// A socket address as (high, low, family), mapped IPv4 unwrapped; nil for Unix sockets.
    static func key(of address: SocketAddress) -> (UInt64, UInt64, Family)? {
        switch address {
        case .v4(let a):
            return (0, UInt64(UInt32(bigEndian: a.address.sin_addr.s_addr)), .v4)
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            let (h, l) = words(bytes)
            if h == 0, l >> 32 == 0xFFFF { return (0, l & 0xFFFF_FFFF, .v4) }
            return (h, l, .v6)
        case .unixDomainSocket:
            return nil
        }
    }

    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    private static func words(_ bytes: [UInt8]) -> (UInt64, UInt64) {
        if bytes.count == 4 { return (0, bytes.reduce(0) { $0 << 8 | UInt64($1) }) }
        return (bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
    }

    private static func mask(_ family: Family, _ length: Int) -> (UInt64, UInt64) {
        func ones(_ n: Int) -> UInt64 { n <= 0 ? 0 : (n >= 64 ? ~0 : ~0 << UInt64(64 - n)) }
        switch family {
        case .v4: return (0, ones(length) >> 32)
        case .v6: return (ones(length), ones(length - 64))
        }
    }

    private static func text(bytes: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, socklen_t(out.count)) }
        return String(cString: out)
    }
}
