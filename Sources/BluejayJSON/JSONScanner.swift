/// Strict single-pass RFC 8259 validator over contiguous bytes. Reports where the top-level value
/// starts and ends so `RawJSON` can keep it as a slice; nothing is decoded or allocated on success.
struct JSONScanner {
    private let p: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0

    init(_ p: UnsafeBufferPointer<UInt8>) { self.p = p }

    /// Validates the whole buffer as one value surrounded by optional whitespace.
    static func scan(_ p: UnsafeBufferPointer<UInt8>) throws(JSONScanError) -> (kind: JSONKind, range: Range<Int>) {
        var s = JSONScanner(p)
        s.skipWhitespace()
        guard s.i < p.count else { throw .empty }
        let start = s.i
        let kind = try s.value()
        let end = s.i
        s.skipWhitespace()
        guard s.i == p.count else { throw s.fail("unexpected data after the JSON value") }
        return (kind, start..<end)
    }

    private func fail(_ reason: String) -> JSONScanError { .invalid(offset: i, reason: reason) }

    private mutating func skipWhitespace() {
        while i < p.count {
            switch p[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONScanError) -> JSONKind {
        guard i < p.count else { throw fail("unexpected end of input, expected a value") }
        switch p[i] {
        case UInt8(ascii: "{"): try object(); return .object
        case UInt8(ascii: "["): try array(); return .array
        case UInt8(ascii: "\""): try string(); return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number(); return .number
        case UInt8(ascii: "t"): try literal("true"); return .bool
        case UInt8(ascii: "f"): try literal("false"); return .bool
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: throw fail("unexpected character, expected a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONScanError) {
        let n = word.utf8CodeUnitCount
        guard p.count - i >= n else { throw fail("invalid literal") }
        let w = word.utf8Start
        for k in 0..<n where p[i + k] != w[k] { throw fail("invalid literal") }
        i += n
    }

    private mutating func enter() throws(JSONScanError) {
        depth += 1
        if depth > RawJSON.maxDepth { throw .tooDeep }
        i += 1
    }

    private mutating func object() throws(JSONScanError) {
        try enter()
        skipWhitespace()
        if i < p.count, p[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return }
        while true {
            guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            try string()
            skipWhitespace()
            guard i < p.count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
            i += 1
            skipWhitespace()
            _ = try value()
            skipWhitespace()
            guard i < p.count else { throw fail("unterminated object") }
            if p[i] == UInt8(ascii: ",") { i += 1; skipWhitespace(); continue }
            if p[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return }
            throw fail("expected ',' or '}' in object")
        }
    }

    private mutating func array() throws(JSONScanError) {
        try enter()
        skipWhitespace()
        if i < p.count, p[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return }
        while true {
            _ = try value()
            skipWhitespace()
            guard i < p.count else { throw fail("unterminated array") }
            if p[i] == UInt8(ascii: ",") { i += 1; skipWhitespace(); continue }
            if p[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return }
            throw fail("expected ',' or ']' in array")
        }
    }

    private mutating func number() throws(JSONScanError) {
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < p.count, isDigit(p[i]) else { throw fail("expected a digit") }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < p.count, isDigit(p[i]) { throw fail("leading zeros are not allowed") }
        } else {
            while i < p.count, isDigit(p[i]) { i += 1 }
        }
        if i < p.count, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < p.count, isDigit(p[i]) else { throw fail("expected a digit after '.'") }
            while i < p.count, isDigit(p[i]) { i += 1 }
        }
        if i < p.count, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < p.count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < p.count, isDigit(p[i]) else { throw fail("expected a digit in exponent") }
            while i < p.count, isDigit(p[i]) { i += 1 }
        }
    }

    private func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// At the opening quote; leaves `i` just past the closing quote.
    private mutating func string() throws(JSONScanError) {
        i += 1
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "\"") { i += 1; return }
            if c == UInt8(ascii: "\\") { try escape(); continue }
            if c < 0x20 { throw fail("unescaped control character in string") }
            if c < 0x80 { i += 1; continue }
            try utf8Sequence()
        }
        throw fail("unterminated string")
    }

    private mutating func escape() throws(JSONScanError) {
        i += 1
        guard i < p.count else { throw fail("unterminated escape") }
        switch p[i] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 1
        case UInt8(ascii: "u"):
            i += 1
            let unit = try hex4()
            if unit >= 0xDC00 && unit <= 0xDFFF { throw fail("unpaired low surrogate escape") }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard p.count - i >= 2, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else {
                    throw fail("unpaired high surrogate escape")
                }
                i += 2
                let low = try hex4()
                guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("high surrogate not followed by a low surrogate") }
            }
        default:
            throw fail("invalid escape")
        }
    }

    private mutating func hex4() throws(JSONScanError) -> UInt32 {
        guard p.count - i >= 4 else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = JSONScanner.hexValue(p[i]) else { throw fail("invalid hex digit in \\u escape") }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c &- UInt8(ascii: "A") &+ 10)
        default: return nil
        }
    }

    /// At a lead byte >= 0x80: one well-formed UTF-8 sequence (no overlongs, surrogates or > U+10FFFF).
    private mutating func utf8Sequence() throws(JSONScanError) {
        let c = p[i]
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: throw fail("invalid UTF-8 lead byte")
        }
        guard p.count - i > need else { throw fail("truncated UTF-8 sequence") }
        let second = p[i + 1]
        guard second >= lo && second <= hi else { throw fail("invalid UTF-8 sequence") }
        var k = 2
        while k <= need {
            guard p[i + k] & 0xC0 == 0x80 else { throw fail("invalid UTF-8 sequence") }
            k += 1
        }
        i += need + 1
    }
}
