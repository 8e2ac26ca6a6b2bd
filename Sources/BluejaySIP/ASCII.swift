/// Byte-level ASCII helpers: SIP's grammar is ASCII and case-insensitive in most places, and going
/// through Foundation or `String.lowercased()` for every header name would dominate parse time.
enum ASCII {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let space: UInt8 = 32
    static let tab: UInt8 = 9
    static let colon: UInt8 = 58

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 { (byte >= 65 && byte <= 90) ? byte | 0x20 : byte }

    /// Whether `bytes` begin with `lowercasePrefix` (ASCII), ignoring ASCII case: header and parameter names
    /// are compared in place this way.
    static func hasPrefix(_ bytes: ArraySlice<UInt8>, lowercase lowercasePrefix: StaticString) -> Bool {
        guard bytes.count >= lowercasePrefix.utf8CodeUnitCount else { return false }
        let wanted = lowercasePrefix.utf8Start
        var i = bytes.startIndex
        for offset in 0..<lowercasePrefix.utf8CodeUnitCount {
            guard lower(bytes[i]) == wanted[offset] else { return false }
            i += 1
        }
        return true
    }

    /// RFC 3261 `token` characters (method names, header names, parameter names).
    static func isTokenChar(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122: return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "%"), UInt8(ascii: "*"),
             UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "`"), UInt8(ascii: "'"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// RFC 3261 token: one or more token characters.
    static func isToken(_ pointer: UnsafePointer<CChar>) -> Bool {
        var i = 0
        while pointer[i] != 0 {
            guard isTokenChar(UInt8(bitPattern: pointer[i])) else { return false }
            i += 1
        }
        return i > 0
    }

    /// Whether a C string holds a space, a control byte or one of `delimiters`: text libosip2 took as one field
    /// that it would write back as more than one.
    static func containsSpaceOrControl(_ pointer: UnsafePointer<CChar>, or delimiters: StaticString) -> Bool {
        var i = 0
        while pointer[i] != 0 {
            let byte = UInt8(bitPattern: pointer[i])
            if byte <= space || byte == 127 || delimiters.withUTF8Buffer({ $0.contains(byte) }) { return true }
            i += 1
        }
        return false
    }

    /// Compares a NUL-terminated C string with an ASCII Swift string, ignoring case. Reads the string's
    /// UTF-8 in place (header and parameter names are looked up this way on every message).
    static func equalsIgnoringCase(_ cString: UnsafePointer<CChar>, _ other: String) -> Bool {
        func compare<Bytes: Collection<UInt8>>(_ utf8: Bytes) -> Bool {
            var index = 0
            for byte in utf8 {
                let c = UInt8(bitPattern: cString[index])
                if c == 0 || lower(c) != lower(byte) { return false }
                index += 1
            }
            return cString[index] == 0
        }
        return other.utf8.withContiguousStorageIfAvailable(compare) ?? compare(other.utf8)
    }

    /// Case-insensitive equality of two ASCII strings without allocating lowercased copies.
    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        var ai = a.utf8.makeIterator()
        var bi = b.utf8.makeIterator()
        while true {
            switch (ai.next(), bi.next()) {
            case (nil, nil): return true
            case let (x?, y?) where lower(x) == lower(y): continue
            default: return false
            }
        }
    }

    /// ASCII-only lowercase (header names); leaves non-ASCII bytes alone.
    static func lowercased(_ string: String) -> String {
        if !string.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) { return string }
        return String(decoding: string.utf8.map(lower), as: UTF8.self)
    }

    /// Trims SP/HTAB/CR/LF from both ends.
    static func trimmed(_ string: String) -> String {
        let bytes = Array(string.utf8)
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) || bytes[start] == cr || bytes[start] == lf { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) || bytes[end - 1] == cr || bytes[end - 1] == lf { end -= 1 }
        if start == 0 && end == bytes.count { return string }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Parses a non-empty all-digit string, nil on anything else or overflow past `limit`.
    static func parseDigits(_ string: String, limit: Int = Int(Int32.max)) -> Int? {
        var value = 0
        var sawDigit = false
        for byte in string.utf8 {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
            if value > limit { return nil }
            sawDigit = true
        }
        return sawDigit ? value : nil
    }

    /// Same as `parseDigits` for a C string, without building a Swift string first.
    static func parseDigits(_ cString: UnsafePointer<CChar>, limit: Int = Int(Int32.max)) -> Int? {
        var value = 0
        var index = 0
        while true {
            let byte = UInt8(bitPattern: cString[index])
            if byte == 0 { break }
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
            if value > limit { return nil }
            index += 1
        }
        return index > 0 ? value : nil
    }
}
