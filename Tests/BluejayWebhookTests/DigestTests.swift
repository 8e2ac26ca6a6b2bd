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
        // Same JSON, different bytes: a different delivery as far as the digest knows.
        XCTAssertNotEqual(WebhookDecoder.digest(body + [UInt8(ascii: "\n")]), digest)
    }
}
