import BluejayAgentProtocol
import Foundation
import XCTest

final class RFC3339Tests: XCTestCase {
    func testValidTimestamps() {
        let cases: [(String, Int64)] = [
            ("1970-01-01T00:00:00Z", 0),
            ("2024-01-15T14:20:00Z", 1_705_328_400_000),
            ("2024-01-15t14:20:00z", 1_705_328_400_000),
            ("2024-01-15 14:20:00Z", 1_705_328_400_000),
            ("2024-01-15T14:20:00.1Z", 1_705_328_400_100),
            ("2024-01-15T14:20:00.12Z", 1_705_328_400_120),
            ("2024-01-15T14:20:00.123Z", 1_705_328_400_123),
            ("2024-01-15T14:20:00.123999999Z", 1_705_328_400_123),
            ("2024-01-15T16:20:00+02:00", 1_705_328_400_000),
            ("2024-01-15T09:50:00-04:30", 1_705_328_400_000),
            ("2024-01-15T14:20:00.5+00:00", 1_705_328_400_500),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000),
            ("2000-02-29T23:59:59.999Z", 951_868_799_999),
            ("1969-12-31T23:59:59.999Z", -1),
            ("2016-12-31T23:59:60Z", 1_483_228_800_000),
        ]
        for (s, ms) in cases { XCTAssertEqual(RFC3339.epochMs(s), ms, s) }
    }

    func testInvalidTimestamps() {
        let cases = [
            "", "2024-01-15", "2024-01-15T14:20:00", "2024-01-15T14:20Z", "2024-01-15T14:20:00.Z",
            "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
            "2024-01-15T24:00:00Z", "2024-01-15T14:60:00Z", "2024-01-15T14:20:61Z", "2024-01-15T14:20:00+2:00",
            "2024-01-15T14:20:00+02:60", "2024-01-15T14:20:00+0200", "2024-01-15T14:20:00Z ", "24-01-15T14:20:00Z",
            "2024/01/15T14:20:00Z", "2024-01-15X14:20:00Z", "2024-01-15T14:20:00.12a Z", "１９７０-01-01T00:00:00Z",
            "2024-01-15T14:20:00UTC", "1705328400",
        ]
        for s in cases { XCTAssertNil(RFC3339.epochMs(s), s) }
    }

    func testFormat() {
        XCTAssertEqual(RFC3339.format(epochMs: 0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(RFC3339.format(epochMs: 1_705_328_400_123), "2024-01-15T14:20:00.123Z")
        XCTAssertEqual(RFC3339.format(epochMs: -1), "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(RFC3339.format(epochMs: 951_868_799_999), "2000-02-29T23:59:59.999Z")
    }

    func testRoundTripAgainstFoundation() {
        var ms: Int64 = -2_208_988_800_000 // 1900
        while ms < 4_102_444_800_000 { // 2100
            let formatted = RFC3339.format(epochMs: ms)
            XCTAssertEqual(RFC3339.epochMs(formatted), ms, formatted)
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            XCTAssertEqual(f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)), formatted)
            ms += 987_654_321_987
        }
    }
}
