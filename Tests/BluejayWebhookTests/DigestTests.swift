import BluejayWebhook
import XCTest

final class DigestTests: XCTestCase {
    func testIsSHA256HexOfTheExactBytes() {
        XCTAssertEqual(WebhookDecoder.digest(Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(WebhookDecoder.digest([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testStableAndSensitiveToEveryByte() throws {
        let body = try Fixture.outboundSimulationStarted.bytes
        let digest = WebhookDecoder.digest(body)
        XCTAssertEqual(digest, WebhookDecoder.digest(body))
        var seen: Set<String> = [digest]
        for i in body.indices {
            var changed = body
            changed[i] ^= 0x01
            seen.insert(WebhookDecoder.digest(changed))
        }
        XCTAssertEqual(seen.count, body.count + 1)
        // The same event serialised anew (white space, key order) is the same event.
        XCTAssertEqual(WebhookDecoder.digest(body + [UInt8(ascii: "\n")]), digest)
    }

    func testReserialisedEventDigestsTheSame() {
        let a = #"{"type":"simulation_ended","id":1,"digital_human_id":2,"simulation_run_id":3,"x":{"b":1,"a":"\u00e9"}}"#
        let b = "{ \"x\": {\"a\": \"é\", \"b\": 1},\n  \"simulation_run_id\": 3, \"digital_human_id\": 2, \"id\": 1, \"type\": \"simulation_ended\" }"
        XCTAssertEqual(WebhookDecoder.digest(Array(a.utf8)), WebhookDecoder.digest(Array(b.utf8)))
        XCTAssertNotEqual(WebhookDecoder.digest(Array(a.utf8)),
                          WebhookDecoder.digest(Array(a.replacingOccurrences(of: #""id":1"#, with: #""id":9"#).utf8)))
    }
}
