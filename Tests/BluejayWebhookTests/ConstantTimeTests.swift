import BluejayWebhook
import XCTest

final class ConstantTimeTests: XCTestCase {
    func testEquals() {
        let secret = Array("whsec_0123456789abcdef".utf8)
        XCTAssertTrue(ConstantTime.equals(secret, secret))
        XCTAssertTrue(ConstantTime.equals([], []))
        XCTAssertFalse(ConstantTime.equals(secret, Array("whsec_0123456789abcdeF".utf8)))
        XCTAssertFalse(ConstantTime.equals(secret, Array("Whsec_0123456789abcdef".utf8)))
    }

    func testDifferentLengthsNeverMatch() {
        let secret = Array("whsec_0123456789abcdef".utf8)
        XCTAssertFalse(ConstantTime.equals(secret, Array(secret.dropLast())))
        XCTAssertFalse(ConstantTime.equals(Array(secret.dropLast()), secret))
        XCTAssertFalse(ConstantTime.equals(secret + [0], secret))
        XCTAssertFalse(ConstantTime.equals([], secret))
        XCTAssertFalse(ConstantTime.equals(secret, []))
    }
}
