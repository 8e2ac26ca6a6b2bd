import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses a Retry-After header value (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
enum RetryAfter {
    /// Anything longer than a day is treated as a day; the retry policy caps it further anyway.
    static let maxSeconds: Int64 = 86_400

    /// Milliseconds to wait, or nil if the value is neither form. A date in the past means "now" (0).
    static func milliseconds(from value: String, nowEpochSeconds: Int64 = Int64(time(nil))) -> Int64? {
        let trimmed = value.bj_trimmed(of: " \t\r\n")
        guard !trimmed.isEmpty else { return nil }
        if trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Long digit strings overflow Int64; they are "very long" either way.
            let seconds = trimmed.utf8.count > 12 ? maxSeconds : min(Int64(trimmed) ?? maxSeconds, maxSeconds)
            return seconds * 1_000
        }
        // curl_getdate understands the three HTTP-date forms (IMF-fixdate, RFC 850, asctime).
        let when = Int64(curl_getdate(trimmed, nil))
        guard when != -1 else { return nil }
        return min(max(0, when - nowEpochSeconds), maxSeconds) * 1_000
    }
}

extension String {
    /// Trims the given scalars from both ends (kept Foundation-free).
    fileprivate func bj_trimmed(of set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars
        while let first = view.first, scalars.contains(first) { view.removeFirst() }
        while let last = view.last, scalars.contains(last) { view.removeLast() }
        return String(view)
    }
}
