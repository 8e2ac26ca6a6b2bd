import BluejayCalls
import BluejaySIP
import XCTest

final class SIPEventReaderTests: XCTestCase {
    private struct NotParsed: Error {}

    /// A message that does not parse fails the test (never a skip).
    private func message(_ bytes: [UInt8]) throws -> SIPMessage {
        guard case .message(let m) = SIPMessage.parse(bytes) else { throw NotParsed() }
        return m
    }

    private func info(_ type: String, _ body: String) throws -> SIPMessage {
        let text = String(decoding: SIPText.request("INFO", cseq: 2, toTag: "t", body: body), as: UTF8.self)
            .replacingOccurrences(of: "Content-Type: application/sdp", with: "Content-Type: \(type)")
        return try message(Array(text.utf8))
    }

    func testDTMFRelayAndPlainDTMFWithCRLFBodies() throws {
        let relay = SIPEventReader.dtmf(try info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), atMs: 7)
        XCTAssertEqual(relay?.metadata.map(\.1), ["5", "160"])
        XCTAssertEqual(SIPEventReader.dtmf(try info("application/dtmf", "#\r\n"), atMs: 7)?.metadata.first?.1, "#")
        XCTAssertNil(SIPEventReader.dtmf(try info("application/dtmf-relay", "Duration=160\r\n"), atMs: 7), "no digit, no event")
    }

    func testHoldAndResumeFromSDPDirection() throws {
        let hold = try message(SIPText.request("INVITE", cseq: 2, toTag: "t", body: SIPText.sdp + "a=sendonly\r\n"))
        XCTAssertEqual(SIPEventReader.holdChange(hold, wasOnHold: false), true)
        XCTAssertNil(SIPEventReader.holdChange(hold, wasOnHold: true), "still on hold: no new event")
        let resume = try message(SIPText.request("INVITE", cseq: 3, toTag: "t", body: SIPText.sdp))
        XCTAssertEqual(SIPEventReader.holdChange(resume, wasOnHold: true), false)
        XCTAssertEqual(SIPEventReader.direction(ofSDP: Array((SIPText.sdp + "a=inactive\r\n").utf8)), "inactive")
    }

    func testTransferOutcomeOnlyForFinalStatus() throws {
        func notify(_ frag: String) throws -> SIPMessage {
            let text = String(decoding: SIPText.request("NOTIFY", cseq: 4, toTag: "t", body: frag), as: UTF8.self)
                .replacingOccurrences(of: "Content-Type: application/sdp", with: "Content-Type: message/sipfrag")
            return try message(Array(text.utf8))
        }
        XCTAssertNil(SIPEventReader.transferOutcome(try notify("SIP/2.0 100 Trying\r\n"), atMs: 1))
        let done = SIPEventReader.transferOutcome(try notify("SIP/2.0 200 OK\r\n"), atMs: 1)
        XCTAssertEqual(done?.metadata.map(\.1), ["200", "true"])
        XCTAssertEqual(done?.description, "SIP/2.0 200 OK")
    }

    func testEventFragmentIsBluejayShaped() {
        let e = SIPCallEvent(title: "dtmf", atMs: 5, description: "DTMF 5", metadata: [("digit", "5")])
        XCTAssertEqual(String(decoding: e.fragment, as: UTF8.self), #""title":"dtmf","description":"DTMF 5","tags":["sip"],"metadata":{"digit":"5"}"#)
    }
}
