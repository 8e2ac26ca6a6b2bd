/// RFC 3339 date-times ⇄ epoch milliseconds, hand-rolled because Foundation's formatters are slow
/// and locale-sensitive, and timestamps arrive on the hot path.
public enum RFC3339 {
    /// `2024-01-15T14:20:00Z`, `…:00.123456+02:00`, `t`/space separator and lowercase `z` accepted.
    /// Fractions beyond milliseconds are truncated; seconds up to 60 (leap second) accepted.
    /// Nil for anything else, including impossible dates (`2023-02-29`).
    public static func epochMs(_ s: String) -> Int64? {
        var s = s
        return s.withUTF8 { epochMs(utf8: $0) }
    }

    /// `2024-01-15T14:20:00.000Z`: always UTC with milliseconds, so replies have one fixed shape.
    public static func format(epochMs: Int64) -> String {
        let (days, msOfDay) = floorDivMod(epochMs, 86_400_000)
        let (y, m, d) = civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendPadded(y, 4, &out); out.append(UInt8(ascii: "-"))
        appendPadded(m, 2, &out); out.append(UInt8(ascii: "-"))
        appendPadded(d, 2, &out); out.append(UInt8(ascii: "T"))
        appendPadded(msOfDay / 3_600_000, 2, &out); out.append(UInt8(ascii: ":"))
        appendPadded(msOfDay / 60_000 % 60, 2, &out); out.append(UInt8(ascii: ":"))
        appendPadded(msOfDay / 1000 % 60, 2, &out); out.append(UInt8(ascii: "."))
        appendPadded(msOfDay % 1000, 3, &out); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func epochMs(utf8 p: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard p.count >= 20,
              let year = digits(p, 0, 4), p[4] == UInt8(ascii: "-"),
              let month = digits(p, 5, 2), p[7] == UInt8(ascii: "-"),
              let day = digits(p, 8, 2),
              p[10] | 0x20 == UInt8(ascii: "t") || p[10] == UInt8(ascii: " "),
              let hour = digits(p, 11, 2), p[13] == UInt8(ascii: ":"),
              let minute = digits(p, 14, 2), p[16] == UInt8(ascii: ":"),
              let second = digits(p, 17, 2)
        else { return nil }
        var i = 19
        var ms: Int64 = 0
        if p[i] == UInt8(ascii: ".") {
            i += 1
            var n = 0
            while i < p.count, let d = digit(p[i]) {
                if n < 3 { ms = ms * 10 + d }
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<max(n, 3) { ms *= 10 }
        }
        guard i < p.count else { return nil }
        var offsetMinutes: Int64 = 0
        if p[i] | 0x20 == UInt8(ascii: "z") {
            i += 1
        } else if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
            guard p.count - i == 6, let oh = digits(p, i + 1, 2), p[i + 3] == UInt8(ascii: ":"),
                  let om = digits(p, i + 4, 2), oh <= 23, om <= 59 else { return nil }
            offsetMinutes = (oh * 60 + om) * (p[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == p.count, month >= 1, month <= 12, day >= 1, day <= daysInMonth(year, month),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60 + second
        return seconds * 1000 + ms
    }

    private static func digit(_ c: UInt8) -> Int64? {
        let d = c &- UInt8(ascii: "0")
        return d < 10 ? Int64(d) : nil
    }

    private static func digits(_ p: UnsafeBufferPointer<UInt8>, _ at: Int, _ n: Int) -> Int64? {
        var v: Int64 = 0
        for k in at..<(at + n) {
            guard let d = digit(p[k]) else { return nil }
            v = v * 10 + d
        }
        return v
    }

    private static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    static func daysFromCivil(_ year: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Inverse of `daysFromCivil`.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    private static func appendPadded(_ v: Int64, _ width: Int, _ out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var digits: [UInt8] = []
        var m = v.magnitude
        repeat { digits.append(UInt8(ascii: "0") + UInt8(m % 10)); m /= 10 } while m > 0
        for _ in digits.count..<max(digits.count, width) { out.append(UInt8(ascii: "0")) }
        out.append(contentsOf: digits.reversed())
    }
}
