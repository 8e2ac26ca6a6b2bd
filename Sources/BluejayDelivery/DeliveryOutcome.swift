/// What one POST attempt came to; the worker turns it into done / retry later / dead letter.
public enum DeliveryOutcome: Equatable, Sendable {
    /// 2xx: Bluejay has the result; the outbox row is done.
    case delivered(status: Int)
    /// Worth trying again later: 408, 429, 5xx, timeouts, connection, DNS and TLS failures, shutdown.
    /// `retryAfterMs` is the server's Retry-After (delta-seconds or HTTP-date), already converted.
    case retryable(reason: String, status: Int?, retryAfterMs: Int64?)
    /// Retrying the same bytes cannot help (other 4xx including 422, 3xx we don't follow):
    /// the row goes to the dead letters with the server's explanation (at most 64 KiB).
    case rejected(status: Int, body: String)
}

extension DeliveryOutcome {
    /// The most response body kept; Bluejay's 422 details are small, a misbehaving proxy's page is not.
    static let responseBodyCap = 64 * 1024

    /// Maps a completed HTTP exchange. `secret` (the API key) is scrubbed from the body because
    /// outcomes end up in logs and dead-letter rows, and some servers echo request headers.
    static func forHTTP(status: Int, body: [UInt8], retryAfterMs: Int64?, secret: String) -> DeliveryOutcome {
        switch status {
        case 200..<300:
            return .delivered(status: status)
        case 408, 429, 500..<600:
            return .retryable(reason: "HTTP \(status)", status: status, retryAfterMs: retryAfterMs)
        case 100..<200, ..<100:
            // A final 1xx or a missing status line means the exchange broke, not that the body is wrong.
            return .retryable(reason: "no final HTTP status (\(status))", status: nil, retryAfterMs: nil)
        default:
            return .rejected(status: status, body: redact(truncatedText(body), secret: secret))
        }
    }

    /// Decodes at most `responseBodyCap` bytes, cutting before a split UTF-8 sequence so the
    /// text stays within the cap instead of growing a replacement character.
    static func truncatedText(_ body: [UInt8]) -> String {
        guard body.count > responseBodyCap else { return String(decoding: body, as: UTF8.self) }
        var end = responseBodyCap
        var back = 0
        while back < 3, end - back - 1 >= 0, body[end - back - 1] & 0xC0 == 0x80 { back += 1 }
        let lead = end - back - 1
        if lead >= 0 {
            let byte = body[lead]
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if length > back + 1 { end = lead } // the sequence starting at `lead` does not fit
        }
        return String(decoding: body[..<end], as: UTF8.self)
    }

    /// Replaces every occurrence of `secret` in `text`; an empty secret redacts nothing.
    static func redact(_ text: String, secret: String) -> String {
        guard !secret.isEmpty, text.contains(secret) else { return text }
        var out = ""
        var rest = text[...]
        while let range = rest.range(of: secret) {
            out += rest[..<range.lowerBound]
            out += "[redacted]"
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }
}
