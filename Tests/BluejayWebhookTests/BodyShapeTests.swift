import BluejayTestSupport
import BluejayWebhook
import XCTest

/// What is wrong before any variant is chosen: not JSON, not an object, no usable `type`.
final class BodyShapeTests: XCTestCase {
    private func error(_ body: String) -> WebhookError? {
        if case let .failure(e) = WebhookDecoder.decode(Array(body.utf8)) { return e }
        return nil
    }

    func testMalformedJSONNamesTheWholeBody() {
        for body in ["", "{", #"{"type": "simulation_ended",}"#, #"{"type": 'x'}"#, "{\"type\": NaN}", "{} {}"] {
            XCTAssertEqual(error(body)?.field, "", body)
            XCTAssertTrue(error(body)?.message.contains("not valid JSON") ?? false, body)
        }
    }

    func testNonObjectNamesTheWholeBody() throws {
        let bodies = ["[]", #""simulation_ended""#, "1", "null", "true"]
        for body in bodies { XCTAssertEqual(error(body)?.field, "", body) }
        for verdict in try SchemaValidator.violations(bodies: bodies, schemaName: FixtureSchemaTests.schema) {
            XCTAssertNotNil(verdict)
        }
    }

    func testMissingOrNonStringTypeNamesType() throws {
        let bodies = ["{}", #"{"id": 1}"#, #"{"type": 5}"#, #"{"type": null}"#, #"{"type": ["simulation_ended"]}"#]
        for body in bodies {
            XCTAssertEqual(error(body)?.field, "type", body)
            XCTAssertTrue(error(body)?.message.contains("`type`") ?? false, body)
        }
        for verdict in try SchemaValidator.violations(bodies: bodies, schemaName: FixtureSchemaTests.schema) {
            XCTAssertNotNil(verdict)
        }
    }

    /// Ambiguous: we would read the first `id`, Python's json (and so Bluejay's tooling) the last.
    func testDuplicateKeyIsRejected() {
        let e = error(#"{"type": "simulation_ended", "id": 1, "id": 2, "digital_human_id": 1, "simulation_run_id": 1}"#)
        XCTAssertEqual(e?.field, "id")
        XCTAssertEqual(error(#"{"type": "x", "type": "simulation_ended"}"#)?.field, "type")
    }

    func testOversizedBodyIsRejectedWithoutParsing() {
        XCTAssertEqual(WebhookDecoder.maxBodyBytes, 10 * 1024 * 1024)
        var body = Array(#"{"type":"x"}"#.utf8)
        body += [UInt8](repeating: UInt8(ascii: " "), count: WebhookDecoder.maxBodyBytes + 1 - body.count)
        guard case let .failure(e) = WebhookDecoder.decode(body) else { return XCTFail("accepted") }
        XCTAssertEqual(e.field, "")
        body.removeLast()
        XCTAssertEqual(try WebhookDecoder.decode(body).get(), .unknown(type: "x"))
    }

    /// Replies and logs carry our words only, never the sender's.
    func testMessagesDoNotEchoInput() {
        let payload = String(repeating: "A", count: 500)
        let bodies = [
            #"{"type": "simulation_ended", "id": {"k": "\#(payload)"}, "digital_human_id": 1, "simulation_run_id": 1}"#,
            #"{"type": "outbound_simulation_started", "agent_id": 1, "simulation_id": 1, "simulation_run_id": 1, "digital_humans": [{"id": 1, "name": "\#(payload)"}]}"#,
            #"{"type": "\#(payload)"#,
            #"{"\#(payload)": 1}"#,
        ]
        for body in bodies {
            guard let e = error(body) else { XCTFail("accepted"); continue }
            XCTAssertFalse(e.message.contains("AAAA"), e.message)
            XCTAssertLessThan(e.message.utf8.count, 160, e.message)
            XCTAssertEqual(e.description, e.message)
        }
    }
}
