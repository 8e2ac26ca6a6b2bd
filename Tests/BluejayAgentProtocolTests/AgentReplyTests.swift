import BluejayAgentProtocol
import Foundation
import XCTest

final class AgentReplyTests: XCTestCase {
    private func object(_ reply: [UInt8]) throws -> [String: Any] {
        XCTAssertEqual(reply.last, UInt8(ascii: "\n"))
        XCTAssertEqual(reply.filter { $0 == UInt8(ascii: "\n") }.count, 1, "exactly one line")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(reply.dropLast())) as? [String: Any])
    }

    func testOk() {
        XCTAssertEqual(text(AgentReply.ok), "{\"ok\":true}\n")
    }

    func testError() throws {
        let reply = AgentReply.error(AgentProtocolError(code: .unknownCall, message: "no call \"x\"\nwith\\that id"))
        XCTAssertEqual(text(reply), "{\"ok\":false,\"error\":\"unknown_call\",\"message\":\"no call \\\"x\\\"\\nwith\\\\that id\"}\n")
        let o = try object(reply)
        XCTAssertEqual(o["message"] as? String, "no call \"x\"\nwith\\that id")
    }

    func testErrorFromDecodeIsValidJSON() throws {
        guard case let .failure(e) = decode("{\"type\":\"\u{7}\u{1b}\",\"call_id\":\"c\"}") else { return XCTFail() }
        let o = try object(AgentReply.error(e))
        XCTAssertEqual(o["error"] as? String, "bad_json")
    }

    func testLookup() throws {
        let reply = AgentReply.lookup(callID: "a@b", simulationResultID: "sim-1", state: "active", startedAtEpochMs: 1_705_328_400_123)
        XCTAssertEqual(text(reply), #"{"ok":true,"call_id":"a@b","simulation_result_id":"sim-1","state":"active","started_at":"2024-01-15T14:20:00.123Z"}"# + "\n")
        let noID = try object(AgentReply.lookup(callID: "a\"b", simulationResultID: nil, state: "ended", startedAtEpochMs: 0))
        XCTAssertTrue(noID["simulation_result_id"] is NSNull)
        XCTAssertEqual(noID["call_id"] as? String, "a\"b")
        XCTAssertEqual(noID["started_at"] as? String, "1970-01-01T00:00:00.000Z")
    }
}
