/// Normalises phone numbers so a dialled number (often a SIP URI) can be matched against the
/// `phone_number` Bluejay gives for a digital human.
public enum PhoneNumber {
    /// E.164 digits: keeps digits only, drops a leading "00" international prefix, and reads the user
    /// part of a `sip:`/`sips:`/`tel:` URI (also inside `Name <…>`), percent-escapes decoded
    /// ("sip:+1 (415) 555-0100@host;user=phone" → "14155550100"). Returns "" when there are no digits.
    /// A SIP URI without a user part (`sip:host`) yields its text before any `;`, as people write
    /// `sip:+14155550100` for a bare number.
    public static func normalize(_ s: String) -> String {
        var text = Substring(s)
        // `"Alice" <sip:…>`: only the URI inside the brackets counts.
        if let open = text.firstIndex(of: "<") {
            let rest = text[text.index(after: open)...]
            text = rest[..<(rest.firstIndex(of: ">") ?? rest.endIndex)]
        }
        text = text.drop { $0 == " " || $0 == "\t" }
        if let colon = text.firstIndex(of: ":") {
            let scheme = text[..<colon].lowercased()
            if scheme == "sip" || scheme == "sips" || scheme == "tel" {
                var user = text[text.index(after: colon)...]
                if scheme != "tel", let at = user.firstIndex(of: "@") { user = user[..<at] }
                // URI parameters (`;user=phone`, `;phone-context=…`) and a SIP password (`user:pw`) carry no digits of the number.
                if let cut = user.firstIndex(where: { $0 == ";" || $0 == ":" }) { user = user[..<cut] }
                text = user
            }
        }
        var digits: [UInt8] = []
        var bytes = text.utf8[...]
        while let c = bytes.popFirst() {
            if c == UInt8(ascii: "%"), bytes.count >= 2,
               let hi = hexValue(bytes[bytes.startIndex]), let lo = hexValue(bytes[bytes.index(after: bytes.startIndex)]) {
                bytes = bytes.dropFirst(2)
                let decoded = hi << 4 | lo
                if decoded >= UInt8(ascii: "0") && decoded <= UInt8(ascii: "9") { digits.append(decoded) }
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits.append(c)
            }
        }
        if digits.count >= 2 && digits[0] == UInt8(ascii: "0") && digits[1] == UInt8(ascii: "0") {
            digits.removeFirst(2)
        }
        return String(decoding: digits, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
