import BluejayAgentProtocol
import XCTest

final class AgentErrorTests: XCTestCase {
    private func assertError(_ line: String, _ code: AgentErrorCode, mentions needle: String,
                             file: StaticString = #filePath, line l: UInt = #line) {
        guard let e = failure(line, file: file, line: l) else { return }
        XCTAssertEqual(e.code, code, e.message, file: file, line: l)
        XCTAssertTrue(e.message.contains(needle), "\(e.message) should mention \(needle)", file: file, line: l)
    }

    func testBadJSON() {
        assertError(#"{"type":"tool_call",}"#, .badJSON, mentions: "byte 20")
        assertError("", .badJSON, mentions: "empty")
        assertError("\r", .badJSON, mentions: "empty")
        assertError(#"["type","tool_call"]"#, .badJSON, mentions: "JSON object")
        assertError("{\"type\":\"tool_call\",\"call_id\":\"c\",\"name\":\"\u{1}\"}", .badJSON, mentions: "control character")
    }

    func testUnknownType() {
        assertError(#"{"type":"toolcall","call_id":"c"}"#, .unknownType, mentions: "\"toolcall\"")
    }

    func testMissingFields() {
        assertError(#"{"call_id":"c","name":"n"}"#, .missingField, mentions: "\"type\"")
        assertError(#"{"type":"tool_call","name":"n"}"#, .missingField, mentions: "\"call_id\" (or \"simulation_result_id\")")
        assertError(#"{"type":"end","call_id":null}"#, .missingField, mentions: "\"call_id\"")
        assertError(#"{"type":"tool_call","call_id":"c"}"#, .missingField, mentions: "\"name\" (or \"tool_name\")")
        assertError(#"{"type":"event","call_id":"c"}"#, .missingField, mentions: "\"title\"")
        assertError(#"{"type":"transcript","call_id":"c","utterance":"u"}"#, .missingField, mentions: "\"speaker\"")
        assertError(#"{"type":"transcript","call_id":"c","speaker":"USER"}"#, .missingField, mentions: "\"utterance\"")
        assertError(#"{"type":"metadata","call_id":"c"}"#, .missingField, mentions: "\"metadata\"")
        assertError(#"{"type":"tags","call_id":"c"}"#, .missingField, mentions: "\"tags\"")
    }

    func testBadValues() {
        let cases: [(String, String)] = [
            (#"{"type":7,"call_id":"c"}"#, "type"),
            (#"{"type":"end","call_id":42}"#, "call_id"),
            (#"{"type":"end","call_id":""}"#, "call_id"),
            (#"{"type":"end","simulation_result_id":["s"]}"#, "simulation_result_id"),
            (#"{"type":"tool_call","call_id":"c","name":{"n":1}}"#, "name"),
            (#"{"type":"tool_call","call_id":"c","tool_name":1}"#, "tool_name"),
            (#"{"type":"tool_call","call_id":"c","name":"n","parameters":[1]}"#, "parameters"),
            (#"{"type":"tool_call","call_id":"c","name":"n","description":1}"#, "description"),
            (#"{"type":"tool_call","call_id":"c","name":"n","start_offset_ms":-5}"#, "start_offset_ms"),
            (#"{"type":"tool_call","call_id":"c","name":"n","start_offset_ms":1.5}"#, "start_offset_ms"),
            (#"{"type":"tool_call","call_id":"c","name":"n","start_offset_ms":"10"}"#, "start_offset_ms"),
            (#"{"type":"tool_call","call_id":"c","name":"n","timestamp":"yesterday"}"#, "timestamp"),
            (#"{"type":"tool_call","call_id":"c","name":"n","timestamp":1705328400}"#, "timestamp"),
            (#"{"type":"event","call_id":"c","title":"t","end_offset_ms":-1}"#, "end_offset_ms"),
            (#"{"type":"event","call_id":"c","title":"t","end_timestamp":"2024-13-01T00:00:00Z"}"#, "end_timestamp"),
            (#"{"type":"event","call_id":"c","title":"t","tags":["a",1]}"#, "tags"),
            (#"{"type":"event","call_id":"c","title":"t","tags":"a"}"#, "tags"),
            (#"{"type":"event","call_id":"c","title":"t","metadata":"m"}"#, "metadata"),
            (#"{"type":"event","call_id":"c","title":"t","start_offset_ms":10,"end_offset_ms":5}"#, "end time"),
            (#"{"type":"transcript","call_id":"c","speaker":"BOT","utterance":"u"}"#, "speaker"),
            (#"{"type":"transcript","call_id":"c","speaker":"USER","utterance":5}"#, "utterance"),
            (#"{"type":"transcript","call_id":"c","speaker":"USER","utterance":"u","filler_utterance":"yes"}"#, "filler_utterance"),
            (#"{"type":"metadata","call_id":"c","metadata":null}"#, "metadata"),
            (#"{"type":"metadata","call_id":"c","metadata":[1]}"#, "metadata"),
            (#"{"type":"tags","call_id":"c","tags":[true]}"#, "tags"),
        ]
        for (line, field) in cases { assertError(line, .badValue, mentions: field) }
    }

    func testMessagesQuoteOnlyABoundedExcerpt() throws {
        let longName = String(repeating: "é", count: 5000)
        let e = try XCTUnwrap(failure(#"{"type":"\#(longName)","call_id":"c"}"#))
        XCTAssertEqual(e.code, .unknownType)
        XCTAssertLessThan(e.message.utf8.count, 200)
        XCTAssertTrue(e.message.contains("…"))
        XCTAssertFalse(e.message.contains("\u{FFFD}"), "excerpt is cut on a UTF-8 boundary")
        let bad = try XCTUnwrap(failure(#"{"type":"tool_call","call_id":"c","name":"n","parameters":[\#(String(repeating: "1,", count: 1000))1]}"#))
        XCTAssertLessThan(bad.message.utf8.count, 200)
    }

    func testLineTooLong() throws {
        let filler = String(repeating: "a", count: AgentLine.maxLineBytes)
        let e = try XCTUnwrap(failure(#"{"type":"metadata","call_id":"c","metadata":{"x":"\#(filler)"}}"#))
        XCTAssertEqual(e.code, .lineTooLong)
        XCTAssertTrue(e.message.contains("\(AgentLine.maxLineBytes)"))
        // Exactly at the limit (plus a tolerated "\r") is fine.
        let prefix = #"{"type":"metadata","call_id":"c","metadata":{"x":""#, suffix = #""}}"#
        let exact = prefix + String(repeating: "a", count: AgentLine.maxLineBytes - prefix.utf8.count - suffix.utf8.count) + suffix + "\r"
        XCTAssertNoThrow(try decode(exact).get())
    }

    func testRemainingCodesHaveTheirWireNames() {
        XCTAssertEqual(AgentErrorCode.unknownCall.rawValue, "unknown_call")
        XCTAssertEqual(AgentErrorCode.callFlushed.rawValue, "call_flushed")
        XCTAssertEqual(AgentErrorCode.storeUnavailable.rawValue, "store_unavailable")
        XCTAssertEqual(AgentErrorCode.internalError.rawValue, "internal_error")
    }
}

extension AgentErrorTests {
    func testUnknownTypeIsReportedBeforeMissingCall() {
        XCTAssertEqual(failure(#"{"type":"bogus"}"#)?.code, .unknownType)
    }

    func testTooDeepIsBadJSON() {
        let deep = #"{"type":"metadata","call_id":"c","metadata":"# + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}"
        XCTAssertEqual(failure(deep)?.code, .badJSON)
    }
}
