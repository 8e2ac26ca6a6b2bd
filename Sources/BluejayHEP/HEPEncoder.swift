/// Encodes a `HEPPacket` as one HEP v3 datagram (for tests, benchmarks and tools; the sidecar only decodes).
///
/// Chunks are written in the order senders use (1, 2, 3|5, 4|6, 7, 8, 9, 10, 11, 12, 17, 15), each only when
/// its field is set. Addresses are written as IPv4 chunks (3/4) when the text is a dotted quad and as IPv6
/// chunks (5/6) otherwise; text that is neither is left out. The total must fit the 16-bit length field:
/// a packet over 65,535 bytes (i.e. a payload over ~65,450 bytes) is a programming error and traps.
public enum HEPEncoder {
    public static func encode(_ p: HEPPacket) -> [UInt8] {
        var out: [UInt8] = hepMagic + [0, 0]
        func chunk(_ type: UInt16, _ value: [UInt8]) {
            let len = value.count + 6
            precondition(len <= 0xffff, "HEP chunk \(type) too large (\(len) bytes)")
            out += [0, 0, UInt8(type >> 8), UInt8(type & 0xff), UInt8(len >> 8), UInt8(len & 0xff)]
            out += value
        }
        func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
        func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        func address(_ text: String?, v4Type: UInt16, v6Type: UInt16) {
            guard let text else { return }
            if let b = IPText.parseIPv4(Substring(text)) {
                chunk(v4Type, b)
            } else if let b = IPText.parseIPv6(text) {
                chunk(v6Type, b)
            }
        }

        if let v = p.ipFamily { chunk(HEPChunk.ipFamily, [v]) }
        if let v = p.protocolID { chunk(HEPChunk.protocolID, [v]) }
        address(p.sourceAddress, v4Type: HEPChunk.ipv4Source, v6Type: HEPChunk.ipv6Source)
        address(p.destinationAddress, v4Type: HEPChunk.ipv4Destination, v6Type: HEPChunk.ipv6Destination)
        if let v = p.sourcePort { chunk(HEPChunk.sourcePort, u16(v)) }
        if let v = p.destinationPort { chunk(HEPChunk.destinationPort, u16(v)) }
        if let v = p.timestampSeconds { chunk(HEPChunk.timestampSeconds, u32(v)) }
        if let v = p.timestampMicroseconds { chunk(HEPChunk.timestampMicroseconds, u32(v)) }
        if let v = p.protocolType { chunk(HEPChunk.protocolType, [v]) }
        if let v = p.captureAgentID { chunk(HEPChunk.captureAgentID, u32(v)) }
        if let v = p.correlationID { chunk(HEPChunk.correlationID, Array(v.utf8)) }
        if let v = p.payload { chunk(HEPChunk.payload, v) }

        precondition(out.count <= 0xffff, "HEP packet too large (\(out.count) bytes)")
        out[4] = UInt8(out.count >> 8)
        out[5] = UInt8(out.count & 0xff)
        return out
    }
}
