/// IP address text <-> bytes, without Foundation or libc (RFC 5952 output for IPv6).
enum IPText {
    static func ipv4(_ b: [UInt8], _ i: Int) -> String {
        "\(b[i]).\(b[i + 1]).\(b[i + 2]).\(b[i + 3])"
    }

    /// RFC 5952: lower-case hex, no leading zeros, the longest run (first if tied) of two or more zero groups
    /// as "::"; IPv4-mapped addresses as ::ffff:a.b.c.d.
    static func ipv6(_ b: [UInt8], _ i: Int) -> String {
        var g = [UInt16](repeating: 0, count: 8)
        for k in 0 ..< 8 { g[k] = UInt16(b[i + 2 * k]) << 8 | UInt16(b[i + 2 * k + 1]) }
        if g[0] == 0, g[1] == 0, g[2] == 0, g[3] == 0, g[4] == 0, g[5] == 0xffff {
            return "::ffff:" + ipv4(b, i + 12)
        }
        var bestStart = -1, bestLen = 0, k = 0
        while k < 8 {
            if g[k] == 0 {
                var e = k
                while e < 8, g[e] == 0 { e += 1 }
                if e - k > bestLen { bestStart = k; bestLen = e - k }
                k = e
            } else {
                k += 1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var out = ""
        k = 0
        while k < 8 {
            if k == bestStart {
                out += "::"
                k += bestLen
                continue
            }
            if !out.isEmpty, !out.hasSuffix(":") { out += ":" }
            out += String(g[k], radix: 16)
            k += 1
        }
        return out
    }

    /// "a.b.c.d" → 4 bytes, or nil.
    static func parseIPv4(_ s: Substring) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    /// IPv6 text (with "::", an optional trailing dotted quad, optional [brackets]) → 16 bytes, or nil.
    static func parseIPv6(_ text: String) -> [UInt8]? {
        var s = Substring(text)
        if s.hasPrefix("["), s.hasSuffix("]") { s = s.dropFirst().dropLast() }
        if let pct = s.firstIndex(of: "%") { s = s[..<pct] }   // zone id: dropped
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawGap = false
        let halves: [Substring]
        if let r = s.firstRange(of: "::") {
            sawGap = true
            halves = [s[..<r.lowerBound], s[r.upperBound...]]
            if halves[1].contains("::") { return nil }
        } else {
            halves = [s]
        }
        func groups(_ part: Substring, allowV4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (idx, item) in items.enumerated() {
                if allowV4, idx == items.count - 1, item.contains(".") {
                    guard let v4 = parseIPv4(item) else { return nil }
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                } else {
                    guard !item.isEmpty, item.count <= 4, let v = UInt16(item, radix: 16) else { return nil }
                    out.append(v)
                }
            }
            return out
        }
        if sawGap {
            guard let h = groups(halves[0], allowV4: false), let t = groups(halves[1], allowV4: true) else { return nil }
            head = h; tail = t
            guard head.count + tail.count <= 7 else { return nil }
        } else {
            guard let h = groups(halves[0], allowV4: true), h.count == 8 else { return nil }
            head = h
        }
        let all = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        var bytes: [UInt8] = []
        for g in all { bytes.append(UInt8(g >> 8)); bytes.append(UInt8(g & 0xff)) }
        return bytes
    }
}
