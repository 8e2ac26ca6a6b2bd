import Foundation

/// RFC 3339 UTC timestamps with milliseconds, formatted by arithmetic: DateFormatter is slow and not
/// something to touch on an audio thread.
enum RFC3339 {
    static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        return format(epochMs: ms)
    }

    static func format(epochMs: Int64) -> String {
        let msOfDay = ((epochMs % 86_400_000) + 86_400_000) % 86_400_000
        let days = (epochMs - msOfDay) / 86_400_000
        // Howard Hinnant's days_from_civil, inverted.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let s = msOfDay / 1000
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(s / 3600, 2) + ":" + pad(s / 60 % 60, 2)
            + ":" + pad(s % 60, 2) + "." + pad(msOfDay % 1000, 3) + "Z"
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
