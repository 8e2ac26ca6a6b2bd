import COSIP2

/// SDP offer/answer (RFC 3264) for a UAS that takes no media: it must still answer every INVITE
/// offer correctly, so it accepts one audio stream as `a=inactive` on the discard port and rejects the rest.
public enum SDPAnswer {
    /// Answer to `offer`: the same number of m-lines in the same order (RFC 3264 §6); the first audio
    /// m-line with a non-zero port accepted with its first payload format only (plus that format's
    /// a=rtpmap/a=fmtp), port 9, `a=inactive`; every other m-line rejected with port 0.
    /// o=/s=/c=/t= are our own, on `localAddress` ("IN IP6" when it contains a colon).
    /// nil if libosip2's `sdp_message_parse` refuses the offer or it has no m-line.
    public static func answer(to offer: [UInt8], localAddress: String, sessionID: UInt64) -> [UInt8]? {
        OSIP.ensureInitialised()
        var raw: UnsafeMutablePointer<sdp_message_t>?
        guard sdp_message_init(&raw) == 0, let sdp = raw else { return nil }
        defer { sdp_message_free(sdp) }
        var text = tolerateEmptySessionName(offer)
        // The terminator, and one more NUL: sdp_message_parse reads one byte past the terminator when the offer
        // ends with an m= line closed by a bare CR or LF (found by fuzzing under AddressSanitizer).
        text.append(contentsOf: [0, 0])
        let rc = text.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { sdp_message_parse(sdp, $0.baseAddress) }
        }
        guard rc == 0 else { return nil }

        let medias = OSIP.elements(UnsafePointer(sdp.field(\.m_medias)), as: sdp_media_t.self)
        guard !medias.isEmpty else { return nil }

        var lines = sessionLines(localAddress: localAddress, sessionID: sessionID)
        var accepted = false
        for media in medias {
            let kind = OSIP.string(media.pointee.m_media) ?? ""
            let proto = OSIP.string(media.pointee.m_proto) ?? "RTP/AVP"
            let formats = OSIP.elements(UnsafePointer(media.field(\.m_payloads)), as: CChar.self).map { String(cString: $0) }
            let port = OSIP.string(media.pointee.m_port).flatMap { ASCII.parseDigits($0) } ?? 0
            guard !formats.isEmpty, !kind.isEmpty else { return nil }

            if !accepted, ASCII.equalsIgnoringCase(kind, "audio"), port != 0 {
                accepted = true
                let format = formats[0]
                lines.append("m=\(kind) 9 \(proto) \(format)")
                for attribute in OSIP.elements(UnsafePointer(media.field(\.a_attributes)), as: sdp_attribute_t.self) {
                    guard let field = OSIP.string(attribute.pointee.a_att_field),
                          ASCII.equalsIgnoringCase(field, "rtpmap") || ASCII.equalsIgnoringCase(field, "fmtp"),
                          let value = OSIP.string(attribute.pointee.a_att_value),
                          value.split(separator: " ", maxSplits: 1).first.map(String.init) == format else { continue }
                    lines.append("a=\(ASCII.lowercased(field)):\(value)")
                }
                lines.append("a=inactive")
            } else {
                // RFC 3264 §6: a rejected stream keeps its formats and gets port 0.
                lines.append("m=\(kind) 0 \(proto) \(formats.joined(separator: " "))")
            }
        }
        return encode(lines)
    }

    /// An offer for an INVITE that arrived without SDP (RFC 3261 §13.2.1: the offer then goes in our
    /// 2xx): PCMU/8000 and PCMA/8000 on port 9, `a=inactive`.
    public static func offer(localAddress: String, sessionID: UInt64) -> [UInt8] {
        var lines = sessionLines(localAddress: localAddress, sessionID: sessionID)
        lines.append("m=audio 9 RTP/AVP 0 8")
        lines.append("a=rtpmap:0 PCMU/8000")
        lines.append("a=rtpmap:8 PCMA/8000")
        lines.append("a=inactive")
        return encode(lines)
    }

    /// libosip2 refuses an empty `s=` line. RFC 4566 wants at least one character there, but offers
    /// with a bare `s=` exist in the wild (RFC 5118 §4.8 uses one), so read it as `s= `.
    private static func tolerateEmptySessionName(_ offer: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(offer.count + 2)
        var lineStart = true
        var i = 0
        while i < offer.count {
            let byte = offer[i]
            result.append(byte)
            if lineStart, byte == UInt8(ascii: "s"), i + 1 < offer.count, offer[i + 1] == UInt8(ascii: "="),
               i + 2 == offer.count || offer[i + 2] == ASCII.cr || offer[i + 2] == ASCII.lf {
                result.append(UInt8(ascii: "="))
                result.append(ASCII.space)
                i += 2
                lineStart = false
                continue
            }
            lineStart = byte == ASCII.lf || byte == ASCII.cr
            i += 1
        }
        return result
    }

    private static func sessionLines(localAddress: String, sessionID: UInt64) -> [String] {
        let family = localAddress.utf8.contains(ASCII.colon) ? "IP6" : "IP4"
        let address = SIPVia.unbracketed(localAddress)
        return [
            "v=0",
            "o=- \(sessionID) \(sessionID) IN \(family) \(address)",
            "s=-",
            "c=IN \(family) \(address)",
            "t=0 0",
        ]
    }

    private static func encode(_ lines: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 2 })
        for line in lines {
            bytes.append(contentsOf: line.utf8)
            bytes.append(ASCII.cr)
            bytes.append(ASCII.lf)
        }
        return bytes
    }
}
