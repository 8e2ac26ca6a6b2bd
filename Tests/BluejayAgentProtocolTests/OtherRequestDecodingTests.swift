import BluejayAgentProtocol
import XCTest

final class OtherRequestDecodingTests: XCTestCase {
    func testEventWithOffsets() throws {
        let r = try record(#"{"type":"event","call_id":"c","title":"transfer","start_offset_ms":1000,"end_offset_ms":2500,"description":"d","tags":["a","b"],"metadata":{"k":1.50}}"#)
        XCTAssertEqual(r.kind, .event)
        XCTAssertEqual(r.start, .offsetMs(1000))
        XCTAssertEqual(r.end, .offsetMs(2500))
        XCTAssertEqual(text(r.fragment), #""title":"transfer","description":"d","tags":["a","b"],"metadata":{"k":1.50}"#)
    }

    func testEscapedKeysAreTheSameKeysAndTheFirstOccurrenceWins() throws {
        let r = try record(#"{"typ\u0065":"event","call\u005fid":"c","title":"first","title":"second","\u0073tart_offset_ms":7}"#)
        XCTAssertEqual(r.kind, .event)
        XCTAssertEqual(r.call.callID, "c")
        XCTAssertEqual(r.start, .offsetMs(7))
        XCTAssertEqual(text(r.fragment), #""title":"first""#)
        XCTAssertEqual(failure(#"{"Type":"event","call_id":"c","title":"t"}"#)?.code, .missingField, "keys are case-sensitive")
    }

    func testEventWithTimestamps() throws {
        let r = try record(#"{"type":"event","call_id":"c","title":"t","timestamp":"2024-01-15T14:20:00Z","end_timestamp":"2024-01-15T14:20:01.5Z"}"#)
        XCTAssertEqual(r.start, .epochMs(1_705_328_400_000))
        XCTAssertEqual(r.end, .epochMs(1_705_328_401_500))
        XCTAssertEqual(text(r.fragment), #""title":"t""#)
    }

    func testEventWithoutEndOrTime() throws {
        let r = try record(#"{"type":"event","simulation_result_id":"s","title":"t"}"#)
        XCTAssertEqual(r.start, .epochMs(Self.arrival))
        XCTAssertNil(r.end)
    }

    func testTranscript() throws {
        let r = try record(#"{"type":"transcript","call_id":"c","speaker":"AGENT","utterance":"Hello \"there\"","start_offset_ms":0,"end_offset_ms":900,"filler_utterance":false}"#)
        XCTAssertEqual(r.kind, .transcript)
        XCTAssertEqual(r.start, .offsetMs(0))
        XCTAssertEqual(r.end, .offsetMs(900))
        XCTAssertEqual(text(r.fragment), #""speaker":"AGENT","utterance":"Hello \"there\"","filler_utterance":false"#)
    }

    func testTranscriptEndDefaultsToStartAndSpeakerIsNormalised() throws {
        let r = try record(#"{"type":"transcript","call_id":"c","speaker":"user","utterance":"hi","timestamp":"2024-01-15T14:20:00+02:00"}"#)
        XCTAssertEqual(r.start, .epochMs(1_705_321_200_000))
        XCTAssertEqual(r.end, r.start)
        XCTAssertEqual(text(r.fragment), #""speaker":"USER","utterance":"hi""#)
    }

    func testMetadata() throws {
        let r = try record(#"{"type":"metadata","call_id":"c","metadata":{ "tier":"premium","value":299.99 }}"#)
        XCTAssertEqual(r.kind, .metadata)
        XCTAssertEqual(r.start, .epochMs(Self.arrival))
        XCTAssertEqual(text(r.fragment), #"{ "tier":"premium","value":299.99 }"#)
    }

    func testTags() throws {
        let r = try record(#"{"type":"tags","call_id":"c","tags":["vip", "escalated"]}"#)
        XCTAssertEqual(r.kind, .tags)
        XCTAssertEqual(text(r.fragment), #"["vip", "escalated"]"#)
    }

    func testEndAndLookup() {
        XCTAssertEqual(try decode(#"{"type":"end","call_id":"c"}"#).get(), .end(CallReference(callID: "c", simulationResultID: nil)))
        XCTAssertEqual(try decode(#"{"type":"lookup","simulation_result_id":"s"}"#).get(),
                       .lookup(CallReference(callID: nil, simulationResultID: "s")))
        XCTAssertEqual(try decode(#"{"type":"end","call_id":"c","simulation_result_id":"s"}"#).get(),
                       .end(CallReference(callID: "c", simulationResultID: "s")))
    }
}

final class StartRequestDecodingTests: XCTestCase {
    func testStartNeedsASimulationResultID() {
        let ok = AgentLine.decode(Array(#"{"type":"start","simulation_result_id":"sim-ws-1"}"#.utf8)[...], arrivalEpochMs: 0)
        XCTAssertEqual(try ok.get(), .start(CallReference(callID: nil, simulationResultID: "sim-ws-1")))
        let named = AgentLine.decode(Array(#"{"type":"start","simulation_result_id":"s","call_id":"ws-7"}"#.utf8)[...], arrivalEpochMs: 0)
        XCTAssertEqual(try named.get(), .start(CallReference(callID: "ws-7", simulationResultID: "s")))
        guard case .failure(let error) = AgentLine.decode(Array(#"{"type":"start","call_id":"x"}"#.utf8)[...], arrivalEpochMs: 0) else {
            return XCTFail("start without simulation_result_id must fail")
        }
        XCTAssertEqual(error.code, .missingField)
        XCTAssertTrue(error.message.contains("simulation_result_id"), error.message)
    }
}
