/// Decodes HEP v3 datagrams. Never traps and never reads outside the datagram: every malformed input is
/// a `.failure`. Checks, in order:
///
/// 1. the datagram starts with "HEP3" (else `.notHEP`; a datagram shorter than 4 bytes is `.notHEP` too);
/// 2. it holds the 6-byte header (else `.truncated`);
/// 3. the header's total length is at least 6 (else `.badLength`), not beyond the datagram (else `.truncated`)
///    and not short of it (trailing bytes: `.badLength`) — one HEP packet per UDP datagram;
/// 4. chunks are walked from offset 6 to the total length: a chunk header needs 6 bytes (else `.truncated`),
///    a chunk length below 6 is `.badChunk`, a chunk running past the end is `.truncated`;
/// 5. known generic chunks must have their exact sizes (e.g. 4 bytes for an IPv4 address; else `.badChunk`);
///    unknown types and chunks of other vendors are skipped. If a chunk appears twice, the last one wins.
///
/// Only packets with `protocolType == 1` (SIP) and a `payload` are of interest to a SIP mirror; see `HEPPacket.isSIP`.
public enum HEPDecoder {
    /// True when the datagram starts with the HEP v3 magic "HEP3". Only v3 is supported (see the file header);
    /// a plain SIP datagram never starts with it (SIP starts with a method name or "SIP/2.0").
    public static func isHEP(_ datagram: [UInt8]) -> Bool {
        datagram.count >= 4 && datagram[0] == 0x48 && datagram[1] == 0x45 && datagram[2] == 0x50 && datagram[3] == 0x33
    }

    public static func decode(_ datagram: [UInt8]) -> Result<HEPPacket, HEPError> {
        guard isHEP(datagram) else { return .failure(.notHEP) }
        let n = datagram.count
        guard n >= hepHeaderSize else {
            return .failure(.truncated("\(n) bytes, the HEP3 header needs \(hepHeaderSize)"))
        }
        let total = Int(be16(datagram, 4))
        guard total >= hepHeaderSize else { return .failure(.badLength("total length \(total) is below the 6-byte header")) }
        guard total <= n else { return .failure(.truncated("total length \(total), datagram has \(n) bytes")) }
        guard total == n else { return .failure(.badLength("total length \(total), datagram has \(n) bytes (trailing data)")) }

        var p = HEPPacket()
        var off = hepHeaderSize
        while off < total {
            guard total - off >= 6 else {
                return .failure(.truncated("chunk header at offset \(off) needs 6 bytes, \(total - off) left"))
            }
            let vendor = be16(datagram, off)
            let type = be16(datagram, off + 2)
            let len = Int(be16(datagram, off + 4))
            guard len >= 6 else {
                return .failure(.badChunk("chunk \(vendor):\(type) at offset \(off) has length \(len), below its 6-byte header"))
            }
            guard len <= total - off else {
                return .failure(.truncated("chunk \(vendor):\(type) at offset \(off) has length \(len), \(total - off) bytes left"))
            }
            let start = off + 6, size = len - 6
            off += len
            guard vendor == 0 else { continue }
            func need(_ want: Int, _ name: String) -> HEPError? {
                size == want ? nil : .badChunk("chunk \(type) (\(name)) has \(size) value bytes, want \(want)")
            }
            switch type {
            case HEPChunk.ipFamily:
                if let e = need(1, "ip family") { return .failure(e) }
                p.ipFamily = datagram[start]
            case HEPChunk.protocolID:
                if let e = need(1, "ip protocol") { return .failure(e) }
                p.protocolID = datagram[start]
            case HEPChunk.ipv4Source, HEPChunk.ipv4Destination:
                if let e = need(4, "IPv4 address") { return .failure(e) }
                let text = IPText.ipv4(datagram, start)
                if type == HEPChunk.ipv4Source { p.sourceAddress = text } else { p.destinationAddress = text }
            case HEPChunk.ipv6Source, HEPChunk.ipv6Destination:
                if let e = need(16, "IPv6 address") { return .failure(e) }
                let text = IPText.ipv6(datagram, start)
                if type == HEPChunk.ipv6Source { p.sourceAddress = text } else { p.destinationAddress = text }
            case HEPChunk.sourcePort:
                if let e = need(2, "source port") { return .failure(e) }
                p.sourcePort = be16(datagram, start)
            case HEPChunk.destinationPort:
                if let e = need(2, "destination port") { return .failure(e) }
                p.destinationPort = be16(datagram, start)
            case HEPChunk.timestampSeconds:
                if let e = need(4, "timestamp seconds") { return .failure(e) }
                p.timestampSeconds = be32(datagram, start)
            case HEPChunk.timestampMicroseconds:
                if let e = need(4, "timestamp microseconds") { return .failure(e) }
                p.timestampMicroseconds = be32(datagram, start)
            case HEPChunk.protocolType:
                if let e = need(1, "protocol type") { return .failure(e) }
                p.protocolType = datagram[start]
            case HEPChunk.captureAgentID:
                // Spec: 4 bytes. Some old agents sent 2; accept both.
                if size == 4 {
                    p.captureAgentID = be32(datagram, start)
                } else if size == 2 {
                    p.captureAgentID = UInt32(be16(datagram, start))
                } else {
                    return .failure(.badChunk("chunk 12 (capture agent id) has \(size) value bytes, want 4"))
                }
            case HEPChunk.payload:
                p.payload = Array(datagram[start ..< start + size])
            case HEPChunk.correlationID:
                p.correlationID = String(decoding: datagram[start ..< start + size], as: UTF8.self)
            default:
                continue
            }
        }
        return .success(p)
    }
}

@inline(__always) func be16(_ b: [UInt8], _ i: Int) -> UInt16 {
    UInt16(b[i]) << 8 | UInt16(b[i + 1])
}

@inline(__always) func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}
