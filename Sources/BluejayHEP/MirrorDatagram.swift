/// What one datagram on the mirror port carries: a SIP message (from a HEP v3 packet of protocol type 1, or a
/// plain SIP datagram from a port mirror), or nothing of interest.
///
/// Typical receive loop:
///
///     switch MirrorDatagram.classify(bytes) {
///     case .sip(let payload, let hep):
///         guard filter.firstSighting(payload, nowMs: monotonicMs) else { break }   // a copy: drop
///         // parse `payload` as SIP; `hep?.captureTimeMs` is the capture time when known
///     case .ignored(let reason):
///         // count / log at debug, never answer
///     }
public enum MirrorDatagram: Equatable, Sendable {
    case sip(payload: [UInt8], hep: HEPPacket?)
    case ignored(String)

    public static func classify(_ datagram: [UInt8]) -> MirrorDatagram {
        if HEPDecoder.isHEP(datagram) {
            switch HEPDecoder.decode(datagram) {
            case .failure(let e):
                return .ignored("malformed HEP: \(e)")
            case .success(let p):
                guard p.protocolType == HEPProtocolType.sip else {
                    return .ignored("HEP protocol type \(p.protocolType.map(String.init) ?? "none"), not SIP")
                }
                guard let payload = p.payload, !payload.isEmpty else { return .ignored("HEP SIP packet without payload") }
                return .sip(payload: payload, hep: p)
            }
        }
        return looksLikeSIP(datagram) ? .sip(payload: datagram, hep: nil) : .ignored("neither HEP v3 nor SIP")
    }

    /// A cheap check of the start line: "SIP/2.0 " (a response) or an upper-case token, a space, and
    /// " SIP/2.0" before the first CR/LF (a request). The SIP parser still decides whether it is valid.
    public static func looksLikeSIP(_ d: [UInt8]) -> Bool {
        let sip: [UInt8] = Array("SIP/2.0".utf8)
        if d.count >= 8, Array(d[0 ..< 7]) == sip, d[7] == 0x20 { return true }
        var i = 0
        while i < d.count, i < 32, (d[i] >= 0x41 && d[i] <= 0x5a) || d[i] == 0x2d { i += 1 }   // A-Z, '-'
        guard i > 0, i < d.count, d[i] == 0x20 else { return false }
        var end = i
        while end < d.count, end < 8192, d[end] != 0x0d, d[end] != 0x0a { end += 1 }
        return end - i > 8 && Array(d[end - 7 ..< end]) == sip
    }
}
