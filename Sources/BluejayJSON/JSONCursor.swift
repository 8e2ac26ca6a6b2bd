/// Walks text that `JSONScanner` already validated, so it can skip values without re-checking them.
/// This is what keeps `members`/`elements` cheap: one pass over the bytes, no validation branches.
struct JSONCursor {
    let p: UnsafeBufferPointer<UInt8>
    var i: Int

    init(_ p: UnsafeBufferPointer<UInt8>, at i: Int) {
        self.p = p
        self.i = i
    }

    mutating func skipWhitespace() {
        while i < p.count {
            switch p[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    /// Kind of the value starting at `i`.
    func kind() -> JSONKind {
        switch p[i] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: return .number
        }
    }

    /// Moves past the value starting at `i`.
    mutating func skipValue() {
        switch p[i] {
        case UInt8(ascii: "\""):
            skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < p.count {
                switch p[i] {
                case UInt8(ascii: "\""): skipString(); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { i += 1; return }
                default: break
                }
                i += 1
            }
        default:
            // Number or literal: runs until a structural character or whitespace.
            i += 1
            while i < p.count {
                switch p[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: return
                default: i += 1
                }
            }
        }
    }

    /// At an opening quote; moves just past the closing quote.
    mutating func skipString() {
        i += 1
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "\"") { i += 1; return }
            i += c == UInt8(ascii: "\\") ? 2 : 1
        }
    }
}
