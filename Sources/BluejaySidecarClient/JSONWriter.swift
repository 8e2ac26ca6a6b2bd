/// Writes compact JSON into bytes. Request lines are built on the caller's thread (often the audio path),
/// so this avoids Foundation's JSONSerialization and its boxing; it only appends bytes.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// A member's key; the value written next belongs to it.
    mutating func key(_ k: String) {
        separate()
        writeString(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func member(_ k: String, _ v: JSONValue) { key(k); value(v) }
    mutating func member(_ k: String, string v: String) { key(k); string(v) }
    mutating func member(_ k: String, int v: Int) { key(k); separate(); appendInt(v); needsComma = true }

    mutating func string(_ s: String) { separate(); writeString(s); needsComma = true }

    mutating func value(_ v: JSONValue) {
        switch v {
        case .null: separate(); bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]); needsComma = true
        case .bool(let b): separate(); bytes.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8)); needsComma = true
        case .int(let i): separate(); appendInt(i); needsComma = true
        case .double(let d):
            separate()
            // JSON has no NaN or infinities; null is the conventional stand-in.
            if d.isFinite {
                if d.rounded() == d, abs(d) < 1e15 { appendInt(Int(d)) } else { bytes.append(contentsOf: d.description.utf8) }
            } else {
                bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            }
            needsComma = true
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for e in elements { value(e) }
            endArray()
        case .object(let members):
            beginObject()
            for m in members { key(m.key); value(m.value) }
            endObject()
        }
    }

    /// Appends raw bytes (a newline at the end of a request line).
    mutating func raw(_ b: UInt8) { bytes.append(b) }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendInt(_ i: Int) {
        if i == 0 { bytes.append(UInt8(ascii: "0")); return }
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var m = i.magnitude
        while m > 0 { digits.append(UInt8(ascii: "0") + UInt8(m % 10)); m /= 10 }
        if i < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.append(contentsOf: digits.reversed())
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(c)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(c)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(Self.hex[Int(c >> 4)])
                bytes.append(Self.hex[Int(c & 0xF)])
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
