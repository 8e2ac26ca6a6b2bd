// HEP v3 ("HEP3", also called EEP v3): the capture-encapsulation protocol of sipcapture/HOMER, spoken by
// Kamailio `siptrace`, OpenSIPS `proto_hep`, FreeSWITCH, Asterisk `res_hep` and heplify.
//
// Wire format (all integers big-endian / network order):
//
//     offset 0   "HEP3"                 4 bytes, magic (0x48 0x45 0x50 0x33)
//     offset 4   total length           UInt16, the whole packet INCLUDING these 6 header bytes
//     offset 6   chunks, back to back, each:
//                  vendor id  UInt16    0x0000 = generic chunks (the only ones this module interprets)
//                  type id    UInt16
//                  length     UInt16    INCLUDING the 6 bytes of this chunk header
//                  value      length - 6 bytes
//
// Generic chunk types (vendor 0) interpreted here:
//
//     1  IP protocol family   UInt8    2 = AF_INET, 10 = AF_INET6
//     2  IP protocol id       UInt8    17 = UDP, 6 = TCP, 132 = SCTP …
//     3  IPv4 source          4 bytes
//     4  IPv4 destination     4 bytes
//     5  IPv6 source          16 bytes
//     6  IPv6 destination     16 bytes
//     7  source port          UInt16
//     8  destination port     UInt16
//     9  timestamp seconds    UInt32   capture time, Unix epoch
//    10  timestamp µs offset  UInt32
//    11  protocol type        UInt8    1 = SIP (5 = RTCP, 100 = log, …)
//    12  capture agent id     UInt32
//    15  captured payload     bytes    (the SIP message for protocol type 1)
//    17  correlation id       string
//
// Everything else (13 keep-alive timer, 14 authentication key, 16 compressed payload, 18 VLAN,
// 19 node name, 20+…, and every chunk of a non-zero vendor) is skipped. Only HEP version 3 is supported:
// HEP v1/v2 (a fixed binary header with no magic, first byte 0x01/0x02, IPv4-only in v2) are obsolete and are
// reported as `.notHEP`; configure senders for version 3 (Kamailio: `modparam("siptrace", "hep_version", 3)`).

/// One decoded HEP v3 packet. Every field is optional: a sender may omit any chunk.
///
/// **What a SIP mirror consumes:** only packets whose `protocolType == 1` (SIP) and whose `payload` is
/// non-nil carry a SIP message (`payload` is the message's bytes exactly as captured). Packets of other
/// protocol types (RTCP reports, logs, QoS, …) and packets without a payload should be ignored by the caller.
public struct HEPPacket: Equatable, Sendable {
    /// Chunk 1: address family, 2 (AF_INET) or 10 (AF_INET6).
    public var ipFamily: UInt8?
    /// Chunk 2: transport protocol number, 17 UDP, 6 TCP, 132 SCTP.
    public var protocolID: UInt8?
    /// Chunk 3 (IPv4, dotted quad) or 5 (IPv6, RFC 5952 text, e.g. `2001:db8::1`).
    public var sourceAddress: String?
    /// Chunk 4 (IPv4) or 6 (IPv6).
    public var destinationAddress: String?
    /// Chunk 7.
    public var sourcePort: UInt16?
    /// Chunk 8.
    public var destinationPort: UInt16?
    /// Chunk 9: capture time, seconds since the Unix epoch.
    public var timestampSeconds: UInt32?
    /// Chunk 10: microseconds to add to `timestampSeconds`.
    public var timestampMicroseconds: UInt32?
    /// Chunk 11: 1 = SIP. Only SIP packets (with a payload) interest the mirror.
    public var protocolType: UInt8?
    /// Chunk 12: the sender's configured capture id.
    public var captureAgentID: UInt32?
    /// Chunk 15: the captured packet's payload (for SIP: the whole message).
    public var payload: [UInt8]?
    /// Chunk 17: correlation id (e.g. the Call-ID, for RTCP/log packets), as UTF-8 text.
    public var correlationID: String?

    public init(ipFamily: UInt8? = nil, protocolID: UInt8? = nil,
                sourceAddress: String? = nil, destinationAddress: String? = nil,
                sourcePort: UInt16? = nil, destinationPort: UInt16? = nil,
                timestampSeconds: UInt32? = nil, timestampMicroseconds: UInt32? = nil,
                protocolType: UInt8? = nil, captureAgentID: UInt32? = nil,
                payload: [UInt8]? = nil, correlationID: String? = nil) {
        self.ipFamily = ipFamily
        self.protocolID = protocolID
        self.sourceAddress = sourceAddress
        self.destinationAddress = destinationAddress
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.timestampSeconds = timestampSeconds
        self.timestampMicroseconds = timestampMicroseconds
        self.protocolType = protocolType
        self.captureAgentID = captureAgentID
        self.payload = payload
        self.correlationID = correlationID
    }

    /// The capture time in milliseconds since the Unix epoch (chunks 9 and 10), or nil without chunk 9.
    public var captureTimeMs: Int64? {
        guard let s = timestampSeconds else { return nil }
        return Int64(s) * 1000 + Int64(timestampMicroseconds ?? 0) / 1000
    }

    /// True when this packet carries a SIP message: protocol type 1 and a payload.
    public var isSIP: Bool { protocolType == HEPProtocolType.sip && payload != nil }
}

/// Well-known values of chunk 11.
public enum HEPProtocolType {
    public static let sip: UInt8 = 1
}

/// Well-known values of chunk 1.
public enum HEPAddressFamily {
    public static let ipv4: UInt8 = 2
    public static let ipv6: UInt8 = 10
}

public enum HEPError: Error, Equatable, Sendable {
    /// The datagram does not start with "HEP3" (it may be plain SIP, HEP v1/v2, or garbage).
    case notHEP
    /// The datagram ends before the header, the announced total length, or a chunk.
    case truncated(String)
    /// The header's total length is impossible (below 6) or shorter than the datagram (trailing bytes).
    case badLength(String)
    /// A chunk's length is below 6, or a known chunk has the wrong size for its type.
    case badChunk(String)
}

/// Generic (vendor 0) chunk type numbers.
enum HEPChunk {
    static let ipFamily: UInt16 = 1
    static let protocolID: UInt16 = 2
    static let ipv4Source: UInt16 = 3
    static let ipv4Destination: UInt16 = 4
    static let ipv6Source: UInt16 = 5
    static let ipv6Destination: UInt16 = 6
    static let sourcePort: UInt16 = 7
    static let destinationPort: UInt16 = 8
    static let timestampSeconds: UInt16 = 9
    static let timestampMicroseconds: UInt16 = 10
    static let protocolType: UInt16 = 11
    static let captureAgentID: UInt16 = 12
    static let payload: UInt16 = 15
    static let correlationID: UInt16 = 17
}

let hepMagic: [UInt8] = [0x48, 0x45, 0x50, 0x33]   // "HEP3"
let hepHeaderSize = 6
