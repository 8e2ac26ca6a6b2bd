import BluejaySIP
import XCTest

/// RFC 4028 session timer headers.
final class SessionTimerTests: XCTestCase {
    func testSessionTimerInvite() throws {
        let m = try Fixture.message("invite-session-timer.sip")
        XCTAssertEqual(m.sessionExpires?.seconds, 1800)
        XCTAssertEqual(m.sessionExpires?.refresher, "uac")
        XCTAssertEqual(m.minSE, 90)
        XCTAssertEqual(m.supported, ["timer", "100rel"])
        XCTAssertEqual(m.require, ["timer"])
    }

    func testAbsentHeaders() throws {
        let m = try Fixture.message("options.sip")
        XCTAssertNil(m.sessionExpires)
        XCTAssertNil(m.minSE)
        XCTAssertEqual(m.supported, [])
        XCTAssertEqual(m.require, [])
    }

    func testVariants() throws {
        let m = try expectMessage(SIPMessage.parse(sip("""
        UPDATE sip:a@b.example SIP/2.0
        Via: SIP/2.0/UDP h.example;branch=z9hG4bK1
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>;tag=2
        Call-ID: timers
        CSeq: 5 UPDATE
        x: 90
        Min-SE: 60;x-param=1
        k: timer
        Supported: 100rel,  replaces ,
        Require: timer, 100rel
        Content-Length: 0


        """)))
        XCTAssertEqual(m.sessionExpires?.seconds, 90)
        XCTAssertNil(m.sessionExpires?.refresher)
        XCTAssertEqual(m.minSE, 60)
        XCTAssertEqual(m.supported, ["timer", "100rel", "replaces"])
        XCTAssertEqual(m.require, ["timer", "100rel"])
    }

    func testMalformedDeltaIsNil() throws {
        let m = try expectMessage(SIPMessage.parse(sip("""
        UPDATE sip:a@b.example SIP/2.0
        Via: SIP/2.0/UDP h.example;branch=z9hG4bK1
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>;tag=2
        Call-ID: timers-bad
        CSeq: 5 UPDATE
        Session-Expires: soon;refresher=uas
        Min-SE: -5
        Content-Length: 0


        """)))
        XCTAssertNil(m.sessionExpires)
        XCTAssertNil(m.minSE)
    }
}
