/// Builds JSON text by appending; the only place that escapes strings.
///
/// Commas are inserted automatically, so callers just emit keys and values in order.
/// Agent values go in through `raw` untouched, which is how they stay byte-for-byte.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    /// True once a value is complete at the current level, i.e. the next key/value needs a comma.
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"k":`; the value call that follows completes the member.
    public mutating func key(_ k: String) {
        separate()
        appendEscaped(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ s: String) { separate(); appendEscaped(s); needsComma = true }

    public mutating func int(_ v: Int64) {
        separate()
        JSONWriter.appendDecimal(v, to: &bytes)
        needsComma = true
    }

    public mutating func bool(_ v: Bool) {
        separate()
        bytes.append(contentsOf: v ? JSONWriter.trueBytes : JSONWriter.falseBytes)
        needsComma = true
    }

    public mutating func null() { separate(); bytes.append(contentsOf: JSONWriter.nullBytes); needsComma = true }

    /// Appends an already-valid JSON value verbatim (e.g. `RawJSON.bytes`); not checked here.
    public mutating func raw(_ json: ArraySlice<UInt8>) { separate(); bytes.append(contentsOf: json); needsComma = true }

    public mutating func member(_ k: String, string v: String) { key(k); string(v) }
    public mutating func member(_ k: String, int v: Int64) { key(k); int(v) }
    public mutating func member(_ k: String, raw v: ArraySlice<UInt8>) { key(k); raw(v) }
    public mutating func member(_ k: String, bool v: Bool) { key(k); bool(v) }
    public mutating func memberNull(_ k: String) { key(k); null() }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendEscaped(_ s: String) {
        var s = s
        s.withUTF8 { JSONWriter.appendEscaped($0, to: &bytes) }
    }

    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)
    private static let nullBytes: [UInt8] = Array("null".utf8)
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Quotes UTF-8 text, escaping `"`, `\` and control characters; everything else is copied as is.
    static func appendEscaped(_ u: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        for i in 0..<u.count {
            let c = u[i]
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i]))
            runStart = i + 1
            out.append(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(c)
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hexDigits[Int(c >> 4)], hexDigits[Int(c & 0xF)]])
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<u.count]))
        out.append(UInt8(ascii: "\""))
    }

    /// Decimal digits without going through `String`.
    static func appendDecimal(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes of scratch, enough for 20 digits
        withUnsafeMutableBytes(of: &tmp) { buf in
            var n = buf.count
            repeat {
                n -= 1
                buf[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
            } while m > 0
            out.append(contentsOf: buf[n...])
        }
    }
}
