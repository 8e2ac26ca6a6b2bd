/// One header line as written on the wire: the name with its original spelling and the value
/// unfolded and trimmed (each fold, and each run of SP/HTAB, becomes one SP: RFC 3261 §7.3.1).
///
/// libosip2 lowercases the names of headers it does not know and turns a fold into a run of spaces,
/// so X- headers (metadata) and the name spellings come from this scan of the same bytes instead.
struct SIPHeaderField {
    var name: String
    var value: String

    /// Splits a header section (start line already removed) into fields. Lines without a colon are
    /// skipped: libosip2 rejects those messages anyway, and recovery wants whatever else is there.
    static func scan<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> [SIPHeaderField] where Bytes.Element == UInt8, Bytes.Index == Int {
        var fields: [SIPHeaderField] = []
        var value: [UInt8] = []
        let end = bytes.endIndex
        var i = bytes.startIndex
        while i < end {
            // One physical line.
            var lineEnd = i
            while lineEnd < end, bytes[lineEnd] != ASCII.cr, bytes[lineEnd] != ASCII.lf { lineEnd += 1 }
            if lineEnd == i { break } // blank line: end of headers
            var next = lineEnd
            if next < end, bytes[next] == ASCII.cr { next += 1 }
            if next < end, bytes[next] == ASCII.lf, next == lineEnd || bytes[next - 1] == ASCII.cr { next += 1 }

            guard let colon = bytes[i..<lineEnd].firstIndex(of: ASCII.colon) else {
                i = skipContinuations(bytes, from: next)
                continue
            }
            var nameEnd = colon
            while nameEnd > i, ASCII.isWhitespace(bytes[nameEnd - 1]) { nameEnd -= 1 }
            let name = String(decoding: bytes[i..<nameEnd], as: UTF8.self)
            // The common case, one line whose value has no LWS run to collapse: the string straight from the
            // bytes, without building it byte by byte (most of the scan's cost otherwise).
            if next >= end || !ASCII.isWhitespace(bytes[next]) {
                var start = colon + 1
                var stop = lineEnd
                while start < stop, ASCII.isWhitespace(bytes[start]) { start += 1 }
                while stop > start, ASCII.isWhitespace(bytes[stop - 1]) { stop -= 1 }
                if !hasRunToCollapse(bytes, start, stop) {
                    fields.append(SIPHeaderField(name: name, value: String(decoding: bytes[start..<stop], as: UTF8.self)))
                    i = next
                    continue
                }
            }
            value.removeAll(keepingCapacity: true)
            appendTrimmed(bytes, colon + 1, lineEnd, to: &value)

            // Continuation lines start with SP or HTAB.
            i = next
            while i < end, ASCII.isWhitespace(bytes[i]) {
                var contEnd = i
                while contEnd < end, bytes[contEnd] != ASCII.cr, bytes[contEnd] != ASCII.lf { contEnd += 1 }
                appendTrimmed(bytes, i, contEnd, to: &value)
                var after = contEnd
                if after < end, bytes[after] == ASCII.cr { after += 1 }
                if after < end, bytes[after] == ASCII.lf, after == contEnd || bytes[after - 1] == ASCII.cr { after += 1 }
                i = after
            }
            fields.append(SIPHeaderField(name: name, value: String(decoding: value, as: UTF8.self)))
        }
        return fields
    }

    /// Whether `bytes[from..<to]` holds an HTAB or two whitespace bytes in a row (what `appendTrimmed` rewrites).
    private static func hasRunToCollapse<Bytes: RandomAccessCollection>(_ bytes: Bytes, _ from: Int, _ to: Int) -> Bool where Bytes.Element == UInt8, Bytes.Index == Int {
        var lastWasSpace = false
        for index in from..<to {
            let byte = bytes[index]
            if byte == ASCII.space {
                if lastWasSpace { return true }
                lastWasSpace = true
            } else if ASCII.isWhitespace(byte) {
                return true
            } else {
                lastWasSpace = false
            }
        }
        return false
    }

    private static func appendTrimmed<Bytes: RandomAccessCollection>(_ bytes: Bytes, _ from: Int, _ to: Int, to value: inout [UInt8]) where Bytes.Element == UInt8, Bytes.Index == Int {
        var start = from
        var stop = to
        while start < stop, ASCII.isWhitespace(bytes[start]) { start += 1 }
        while stop > start, ASCII.isWhitespace(bytes[stop - 1]) { stop -= 1 }
        guard start < stop else { return }
        if !value.isEmpty { value.append(ASCII.space) }
        // RFC 3261 §7.3.1: any LWS run may be replaced by one SP. Doing it inside the value too keeps
        // values stable across libosip2's serialisation, which writes a fold as a run of spaces.
        var lastWasSpace = false
        for index in start..<stop {
            let byte = bytes[index]
            if ASCII.isWhitespace(byte) {
                if !lastWasSpace { value.append(ASCII.space) }
                lastWasSpace = true
            } else {
                value.append(byte)
                lastWasSpace = false
            }
        }
    }

    private static func skipContinuations<Bytes: RandomAccessCollection>(_ bytes: Bytes, from index: Int) -> Int where Bytes.Element == UInt8, Bytes.Index == Int {
        var i = index
        while i < bytes.endIndex, ASCII.isWhitespace(bytes[i]) {
            while i < bytes.endIndex, bytes[i] != ASCII.cr, bytes[i] != ASCII.lf { i += 1 }
            if i < bytes.endIndex, bytes[i] == ASCII.cr { i += 1 }
            if i < bytes.endIndex, bytes[i] == ASCII.lf { i += 1 }
        }
        return i
    }

    /// RFC 3261 §7.3.3 (and later RFCs') compact forms, lowercased, mapped to their long names.
    static let compactForms: [String: String] = [
        "a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
        "e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported",
        "l": "content-length", "m": "contact", "o": "event", "r": "refer-to", "s": "subject",
        "t": "to", "u": "allow-events", "v": "via", "x": "session-expires", "y": "identity",
    ]

    /// Lowercased long form of a header name, so "k", "Supported" and "SUPPORTED" compare equal.
    static func canonicalName(_ name: String) -> String {
        let lower = ASCII.lowercased(name)
        return compactForms[lower] ?? lower
    }

    /// Header names (lowercase) that libosip2 5.x parses into dedicated fields; everything else ends up
    /// in its list of "other headers". Mirrors `parser_init()` in osip_parser_cfg.c.
    static let knownToOSIP: Set<String> = [
        "accept", "accept-encoding", "accept-language", "alert-info", "allow", "authentication-info",
        "authorization", "c", "call-id", "call-info", "contact", "content-encoding", "content-length",
        "content-type", "cseq", "e", "error-info", "f", "from", "i", "l", "m", "mime-version",
        "proxy-authenticate", "proxy-authentication-info", "proxy-authorization", "record-route",
        "route", "t", "to", "v", "via", "www-authenticate",
    ]
}
