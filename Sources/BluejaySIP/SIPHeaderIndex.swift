/// Where each header sits in a header section: byte ranges for its name and value, so a lookup compares
/// bytes and only the headers asked for become Strings. (Building two Strings per header line was most of
/// the wrapper's cost over bare libosip2; a message is usually asked for two or three headers.)
///
/// Lines follow `SIPRawLayout`: CRLF, bare LF or bare CR; a line starting with SP or HTAB continues the
/// header above; the first blank line ends the section. Lines without a colon are skipped with their
/// continuations: libosip2 rejects those messages anyway, and recovery wants whatever else is there.
struct SIPHeaderIndex {
    struct Entry {
        /// The name as written, up to the colon, trailing SP/HTAB dropped.
        var nameStart: Int
        var nameEnd: Int
        /// From after the colon to the end of the text of its last continuation line: the line ends
        /// between are folds.
        var valueStart: Int
        var valueEnd: Int
    }

    let bytes: [UInt8]
    let entries: [Entry]

    /// Indexes a header section (or anything up to and including its blank line).
    init(_ bytes: [UInt8]) {
        self.init(bytes: bytes, entries: bytes.withUnsafeBytes { Self.scan($0).entries })
    }

    /// `entries` must come from `scan` over these same bytes (as `SIPRawLayout` does while parsing).
    init(bytes: [UInt8], entries: [Entry]) {
        self.bytes = bytes
        self.entries = entries
    }

    /// The headers from the start of `raw` up to the first blank line, and where that line starts (the
    /// count if there is none).
    static func scan(_ raw: UnsafeRawBufferPointer) -> (entries: [Entry], end: Int) {
        var entries: [Entry] = []
        entries.reserveCapacity(24)
        var i = 0
        while i < raw.count {
            let lineEnd = SIPRawLayout.lineEnd(raw, from: i)
            if lineEnd == i { break } // blank line: end of headers
            var colon = i
            while colon < lineEnd, raw[colon] != ASCII.colon { colon += 1 }
            var valueEnd = lineEnd
            var next = SIPRawLayout.skipTerminator(raw, at: lineEnd)
            while next < raw.count, ASCII.isWhitespace(raw[next]) {
                valueEnd = SIPRawLayout.lineEnd(raw, from: next)
                next = SIPRawLayout.skipTerminator(raw, at: valueEnd)
            }
            if colon < lineEnd {
                var nameEnd = colon
                while nameEnd > i, ASCII.isWhitespace(raw[nameEnd - 1]) { nameEnd -= 1 }
                entries.append(Entry(nameStart: i, nameEnd: nameEnd, valueStart: colon + 1, valueEnd: valueEnd))
            }
            i = next
        }
        return (entries, i)
    }

    /// Every header as a name/value pair, in order.
    var fields: [SIPHeaderField] {
        entries.map { SIPHeaderField(name: name($0), value: value($0)) }
    }

    func name(_ entry: Entry) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[entry.nameStart..<entry.nameEnd]), as: UTF8.self) }
    }

    /// The value unfolded and trimmed: each fold, and each run of SP/HTAB, becomes one SP (RFC 3261 §7.3.1),
    /// which also keeps values stable across libosip2's serialisation (it writes a fold as a run of spaces).
    func value(_ entry: Entry) -> String {
        bytes.withUnsafeBufferPointer { buffer in
            let (start, stop) = Self.trimmed(entry, buffer)
            // The common case, one line without a run to collapse: the String straight from the bytes.
            if !Self.hasRunToCollapse(buffer, start, stop) {
                return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<stop]), as: UTF8.self)
            }
            var value: [UInt8] = []
            value.reserveCapacity(stop - start)
            var lastWasSpace = false
            for index in start..<stop {
                let byte = buffer[index]
                if Self.isLWS(byte) {
                    if !lastWasSpace { value.append(ASCII.space) }
                    lastWasSpace = true
                } else {
                    value.append(byte)
                    lastWasSpace = false
                }
            }
            return String(decoding: value, as: UTF8.self)
        }
    }

    /// Appends the value, trimmed, if it is `value(_:)` as received: one line with no run of SP/HTAB. A response
    /// copies its request's headers this way; a value that `value(_:)` would collapse may be one libosip2 keeps as
    /// it is (a Call-ID is compared byte for byte), so it is not copied (false, nothing appended).
    func appendVerbatim(_ entry: Entry, to out: inout [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            let (start, stop) = Self.trimmed(entry, buffer)
            guard !Self.hasRunToCollapse(buffer, start, stop) else { return false }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<stop]))
            return true
        }
    }

    /// The value's bounds without the LWS around it.
    private static func trimmed(_ entry: Entry, _ buffer: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var start = entry.valueStart
        var stop = entry.valueEnd
        while start < stop, isLWS(buffer[start]) { start += 1 }
        while stop > start, isLWS(buffer[stop - 1]) { stop -= 1 }
        return (start, stop)
    }

    /// Whether the name is `lowercaseName` (ASCII, no compact form applied) ignoring ASCII case.
    func nameIs(_ entry: Entry, _ lowercaseName: StaticString) -> Bool {
        entry.nameEnd - entry.nameStart == lowercaseName.utf8CodeUnitCount && nameHasPrefix(entry, lowercaseName)
    }

    /// Whether the name starts with `lowercasePrefix` (ASCII) ignoring ASCII case.
    func nameHasPrefix(_ entry: Entry, _ lowercasePrefix: StaticString) -> Bool {
        ASCII.hasPrefix(bytes[entry.nameStart..<entry.nameEnd], lowercase: lowercasePrefix)
    }

    /// Whether the name equals `other` (UTF-8) once both are ASCII-lowercased and compared as Strings. Bytes
    /// decide when both are ASCII; otherwise the decoded Strings are compared (Unicode equivalence and
    /// repaired UTF-8 make raw bytes the wrong answer there).
    func nameEquals(_ entry: Entry, ignoringCase other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard isASCII(entry), !other.contains(where: { $0 >= 0x80 }) else {
            return ASCII.lowercased(name(entry)) == ASCII.lowercased(String(decoding: other, as: UTF8.self))
        }
        guard entry.nameEnd - entry.nameStart == other.count else { return false }
        for (offset, byte) in other.enumerated() where ASCII.lower(bytes[entry.nameStart + offset]) != ASCII.lower(byte) {
            return false
        }
        return true
    }

    /// Whether `SIPHeaderField.canonicalName` of the name is `canonical` (which must be canonical already),
    /// without building the name when it is ASCII.
    func hasCanonicalName(_ entry: Entry, _ canonical: String) -> Bool {
        if entry.nameEnd - entry.nameStart == 1, let long = SIPHeaderField.compactForms[String(UnicodeScalar(ASCII.lower(bytes[entry.nameStart])))] {
            return long == canonical
        }
        var canonical = canonical
        return canonical.withUTF8 { nameEquals(entry, ignoringCase: $0) }
    }

    private func isASCII(_ entry: Entry) -> Bool {
        for index in entry.nameStart..<entry.nameEnd where bytes[index] >= 0x80 { return false }
        return true
    }

    /// SP, HTAB, or the CR/LF of a fold (the only line ends inside a value range).
    @inline(__always)
    private static func isLWS(_ byte: UInt8) -> Bool {
        ASCII.isWhitespace(byte) || byte == ASCII.cr || byte == ASCII.lf
    }

    /// Whether `bytes[from..<to]` holds anything but single SPs between other bytes.
    private static func hasRunToCollapse(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        var lastWasSpace = false
        for index in from..<to {
            let byte = bytes[index]
            if byte == ASCII.space {
                if lastWasSpace { return true }
                lastWasSpace = true
            } else if isLWS(byte) {
                return true
            } else {
                lastWasSpace = false
            }
        }
        return false
    }
}
