import BluejaySIP
import XCTest

/// X-Simulation-Result-Id: case-insensitive name, trimmed and unfolded value, first occurrence wins.
final class SimulationResultIDTests: XCTestCase {
    func testCanonicalSpelling() throws {
        let m = try Fixture.message("invite-sdp-xheaders.sip")
        XCTAssertEqual(m.simulationResultID, "7f3c2a9e-5b1d-4c8e-9f20-1a2b3c4d5e6f")
        XCTAssertEqual(m.simulationResultIDCount, 1)
    }

    func testLowercaseName() throws {
        let m = try Fixture.message("invite-xsim-lowercase.sip")
        XCTAssertEqual(m.simulationResultID, "lower-7f3c2a9e")
        XCTAssertEqual(m.simulationResultIDCount, 1)
    }

    func testMixedCaseNameAndTrimmedValue() throws {
        let m = try Fixture.message("invite-xsim-mixedcase.sip")
        XCTAssertEqual(m.simulationResultID, "mixed-7f3c2a9e")
    }

    func testFoldedValueIsJoinedWithOneSpace() throws {
        let m = try Fixture.message("invite-xsim-folded.sip")
        XCTAssertEqual(m.simulationResultID, "folded-part-one folded-part-two folded-part-three")
        XCTAssertEqual(m.headerValues("X-Trace"), ["a b"])
        XCTAssertEqual(m.xHeaders.map(\.name), ["X-Simulation-Result-Id", "X-Trace"])
    }

    func testFirstOccurrenceWinsAndDuplicatesAreCounted() throws {
        let m = try Fixture.message("invite-xsim-duplicate.sip")
        XCTAssertEqual(m.simulationResultID, "first-id")
        XCTAssertEqual(m.simulationResultIDCount, 2)
        XCTAssertEqual(m.headerValues("X-Simulation-Result-Id"), ["first-id", "second-id"])
    }

    func testAbsentAndEmpty() throws {
        let absent = try Fixture.message("bye.sip")
        XCTAssertNil(absent.simulationResultID)
        XCTAssertEqual(absent.simulationResultIDCount, 0)

        let empty = try expectMessage(SIPMessage.parse(sip("""
        OPTIONS sip:a@b.example SIP/2.0
        Via: SIP/2.0/UDP h.example;branch=z9hG4bK1
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>
        Call-ID: empty-xsim
        CSeq: 1 OPTIONS
        X-Simulation-Result-Id:   \t
        X-Simulation-Result-Id: later
        Content-Length: 0


        """)))
        XCTAssertNil(empty.simulationResultID, "the first occurrence wins even when it is empty")
        XCTAssertEqual(empty.simulationResultIDCount, 2)
    }

    func testSimilarNamesDoNotMatch() throws {
        let m = try expectMessage(SIPMessage.parse(sip("""
        OPTIONS sip:a@b.example SIP/2.0
        Via: SIP/2.0/UDP h.example;branch=z9hG4bK1
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>
        Call-ID: near-miss
        CSeq: 1 OPTIONS
        X-Simulation-Result-Ids: plural
        X-Simulation-Result: short
        Content-Length: 0


        """)))
        XCTAssertNil(m.simulationResultID)
        XCTAssertEqual(m.simulationResultIDCount, 0)
        XCTAssertEqual(m.xHeaders.count, 2)
    }
}
