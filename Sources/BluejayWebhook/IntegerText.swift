import BluejayJSON

/// Renders a JSON number that JSON Schema calls an integer as decimal text.
///
/// JSON Schema (and python-jsonschema, which checks our fixtures) counts any number with a zero
/// fractional part as an integer, so `123`, `123.0` and `1.23e2` are all the id "123".
enum IntegerText {
    /// Decimal text of `value`, or nil when it is not a number or has a fractional part.
    static func decimal(_ value: RawJSON) -> String? {
        guard value.kind == .number else { return nil }
        if let v = value.int64 { return String(v) }
        let isIntegerSyntax = !value.bytes.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        // Beyond Int64 but written as an integer: the digits are already the decimal text.
        if isIntegerSyntax { return String(decoding: value.bytes, as: UTF8.self) }
        // Python reads other forms as a float; integral floats count, infinities do not.
        guard let d = value.double, d == d.rounded(.towardZero) else { return nil }
        if d == 0 { return "0" }
        if abs(d) < 9.0e18 { return String(Int64(d)) }
        return String(decoding: value.bytes, as: UTF8.self)
    }
}
