/// A validated JSON value kept as its raw bytes (a slice of the input).
///
/// Agent data reaches Bluejay byte-for-byte as the agent wrote it (`1500.00` stays `1500.00`),
/// so we validate once and never re-encode. Typed accessors decode lazily, only when asked;
/// `members`/`elements` re-walk the already-validated bytes without re-validating them.
public struct RawJSON: Equatable, Sendable {
    /// Deepest array/object nesting `parse` accepts; deeper input throws `.tooDeep`.
    public static let maxDepth = 256

    public let kind: JSONKind
    /// Exact raw text of this value, without surrounding whitespace.
    public let bytes: ArraySlice<UInt8>

    init(kind: JSONKind, bytes: ArraySlice<UInt8>) {
        self.kind = kind
        self.bytes = bytes
    }

    /// Strict RFC 8259: no comments, trailing commas, NaN, leading zeros, lone surrogates,
    /// invalid UTF-8 or raw control characters; whitespace around the value is allowed.
    public static func parse(_ bytes: [UInt8]) throws(JSONScanError) -> RawJSON {
        try parse(bytes[...])
    }

    /// Slice variant, so a line cut out of a read buffer is validated without a copy.
    /// Error offsets count from the start of the slice.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONScanError) -> RawJSON {
        let result = bytes.withUnsafeBufferPointer { p in
            Result<(kind: JSONKind, range: Range<Int>), JSONScanError> { () throws(JSONScanError) in
                try JSONScanner.scan(p)
            }
        }
        let scanned = try result.get()
        let base = bytes.startIndex
        return RawJSON(kind: scanned.kind, bytes: bytes[(base + scanned.range.lowerBound)..<(base + scanned.range.upperBound)])
    }

    /// Decoded string value (escapes and surrogate pairs resolved); nil unless `kind == .string`.
    public var string: String? {
        guard kind == .string else { return nil }
        return bytes.withUnsafeBufferPointer { JSONStringDecoder.decode($0, 0, $0.count) }
    }

    /// The number as Int64, only for integer syntax (`-12`, `0`); `1500.0`, `1e3` and values
    /// outside Int64 give nil, so callers never silently truncate what the agent wrote.
    public var int64: Int64? {
        guard kind == .number else { return nil }
        var negative = false
        var value: Int64 = 0
        for (n, c) in bytes.enumerated() {
            if n == 0 && c == UInt8(ascii: "-") { negative = true; continue }
            let d = c &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            // Accumulate negatively so Int64.min is representable.
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(d))
            guard !o1 && !o2 else { return nil }
            value = s
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// The number as the nearest Double; nil when not a number or out of Double's finite range (`1e400`).
    public var double: Double? {
        guard kind == .number else { return nil }
        guard let d = Double(String(decoding: bytes, as: UTF8.self)), d.isFinite else { return nil }
        return d
    }

    public var bool: Bool? {
        guard kind == .bool else { return nil }
        return bytes.first == UInt8(ascii: "t")
    }

    public var isNull: Bool { kind == .null }

    /// Object members in document order, duplicates kept; nil unless `kind == .object`.
    public var members: [(key: String, value: RawJSON)]? {
        guard kind == .object else { return nil }
        var out: [(key: String, value: RawJSON)] = []
        forEachChild(close: UInt8(ascii: "}")) { key, value in out.append((String(decoding: key!, as: UTF8.self), value)); return true }
        return out
    }

    /// Object members in document order, duplicates kept, each key as its decoded UTF-8 (valid only during
    /// `body`): matches known keys without making a String of every key. Nothing for a non-object.
    public func forEachMember(_ body: (_ key: UnsafeBufferPointer<UInt8>, _ value: RawJSON) -> Void) {
        guard kind == .object else { return }
        forEachChild(close: UInt8(ascii: "}")) { key, value in body(key!, value); return true }
    }

    /// First member named `key`; nil if absent or not an object.
    public subscript(key: String) -> RawJSON? {
        guard kind == .object else { return nil }
        var found: RawJSON?
        forEachChild(close: UInt8(ascii: "}")) { k, value in
            guard String(decoding: k!, as: UTF8.self) == key else { return true }
            found = value
            return false
        }
        return found
    }

    /// Array elements in order; nil unless `kind == .array`.
    public var elements: [RawJSON]? {
        guard kind == .array else { return nil }
        var out: [RawJSON] = []
        forEachChild(close: UInt8(ascii: "]")) { _, value in out.append(value); return true }
        return out
    }

    /// One walk over the direct children; `key` (decoded UTF-8, valid only during `body`) is nil for array
    /// elements; `body` returns false to stop.
    private func forEachChild(close: UInt8, _ body: (UnsafeBufferPointer<UInt8>?, RawJSON) -> Bool) {
        let base = bytes.startIndex
        bytes.withUnsafeBufferPointer { p in
            var c = JSONCursor(p, at: 1)
            c.skipWhitespace()
            if p[c.i] == close { return }
            while true {
                var keyStart = 0, keyEnd = 0
                if close == UInt8(ascii: "}") {
                    keyStart = c.i
                    c.skipString()
                    keyEnd = c.i
                    c.skipWhitespace()
                    c.i += 1 // ':'
                    c.skipWhitespace()
                }
                let vs = c.i
                let kind = c.kind()
                c.skipValue()
                let value = RawJSON(kind: kind, bytes: bytes[(base + vs)..<(base + c.i)])
                let goOn: Bool
                if close != UInt8(ascii: "}") {
                    goOn = body(nil, value)
                } else {
                    let raw = UnsafeBufferPointer(rebasing: p[(keyStart + 1)..<(keyEnd - 1)])
                    if raw.contains(UInt8(ascii: "\\")) {
                        var key = JSONStringDecoder.decode(p, keyStart, keyEnd)
                        goOn = key.withUTF8 { body($0, value) }
                    } else {
                        goOn = body(raw, value)
                    }
                }
                guard goOn else { return }
                c.skipWhitespace()
                guard p[c.i] == UInt8(ascii: ",") else { return }
                c.i += 1
                c.skipWhitespace()
            }
        }
    }
}
