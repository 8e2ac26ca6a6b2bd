import BluejaySIP
import XCTest

/// Hostile input must never crash the parser, the framer or the SDP answerer.
final class RobustnessTests: XCTestCase {
    /// xorshift64*: deterministic, so a failure reproduces.
    private struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    func testEmptyAndTinyInputs() {
        for input: [UInt8] in [[], [0], [13, 10], [13, 10, 13, 10], Array("SIP/2.0".utf8), Array("INVITE".utf8), Array(" ".utf8)] {
            switch SIPMessage.parse(input) {
            case .message: XCTFail("\(input) should not parse")
            case .badRequest, .drop: break
            }
        }
        XCTAssertEqual(outcomeKind(SIPMessage.parse([])), "drop")
    }

    func testTooLarge() {
        var big = Fixture.valid("options.sip")
        big += [UInt8](repeating: UInt8(ascii: "x"), count: SIPMessage.maxSize)
        guard case .drop(.tooLarge(let size)) = SIPMessage.parse(big) else { return XCTFail("expected tooLarge") }
        XCTAssertEqual(size, big.count)
        // Exactly maxSize is allowed through to the parser.
        var edge = Fixture.valid("options.sip")
        edge += [UInt8](repeating: UInt8(ascii: "x"), count: SIPMessage.maxSize - edge.count)
        XCTAssertEqual(edge.count, SIPMessage.maxSize)
        if case .drop(.tooLarge) = SIPMessage.parse(edge) { XCTFail("maxSize itself is not too large") }
    }

    func testPseudoRandomBytes() {
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        var dropped = 0
        for _ in 0..<1_000 {
            let count = random.below(600)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if case .drop = SIPMessage.parse(bytes) { dropped += 1 }
            _ = SDPAnswer.answer(to: bytes, localAddress: "192.0.2.1", sessionID: 1)
        }
        XCTAssertGreaterThan(dropped, 990, "random bytes are essentially never SIP")
    }

    /// Mutates every fixture a few ways (flip, delete, duplicate, insert CR/LF/NUL/colon/quote, truncate)
    /// and exercises everything the caller would touch on whatever comes out.
    func testMutatedFixturesNeverCrash() throws {
        let corpus = Fixture.names(in: "valid").map { Fixture.valid($0) } + Fixture.names(in: "invalid").map { Fixture.invalid($0) }
        var random = Random(state: 0xDEAD_BEEF_CAFE_F00D)
        let interesting: [UInt8] = [0, 9, 10, 13, 32, 34, 44, 58, 59, 60, 62, 64, 91, 93, 92, 0xff]
        var outcomes = [String: Int]()
        for round in 0..<4_000 {
            var bytes = corpus[round % corpus.count]
            for _ in 0..<(1 + random.below(4)) where !bytes.isEmpty {
                let at = random.below(bytes.count)
                switch random.below(6) {
                case 0: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << random.below(8))
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(interesting[random.below(interesting.count)], at: at)
                case 3: bytes.removeSubrange(at...)
                case 4: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + random.below(40))], at: at)
                default: bytes[at] = interesting[random.below(interesting.count)]
                }
            }
            let outcome = SIPMessage.parse(bytes)
            outcomes[outcomeKind(outcome), default: 0] += 1
            switch outcome {
            case .message(let message):
                exercise(message)
                _ = SDPAnswer.answer(to: message.body, localAddress: "192.0.2.1", sessionID: 1)
            case .badRequest(let message, let error):
                exercise(message)
                XCTAssertTrue(message.isRequest)
                XCTAssertNotNil(message.topVia)
                _ = message.makeResponse(status: 400, reason: error.description).serialize()
            case .drop:
                break
            }
            var framer = SIPStreamFramer()
            framer.append(bytes)
            while let frame = framer.next() {
                if case .message(let framed) = frame { _ = SIPMessage.parse(framed) }
                if case .error = frame { break }
            }
        }
        // Mutations should leave a healthy mix of every outcome (fewer messages since a NUL, one of the inserted
        // bytes, is refused anywhere in the headers).
        XCTAssertGreaterThan(outcomes["message", default: 0], 400)
        XCTAssertGreaterThan(outcomes["badRequest", default: 0], 200)
        XCTAssertGreaterThan(outcomes["drop", default: 0], 100)
    }

    private func exercise(_ m: SIPMessage) {
        _ = (m.isRequest, m.method, m.statusCode, m.requestURI, m.callID, m.cseqNumber, m.cseqMethod)
        _ = (m.fromTag, m.toTag, m.fromHeader, m.toHeader, m.fromURI, m.toURI, m.topVia, m.vias, m.maxForwards)
        _ = (m.contentType, m.body, m.extensionHeaders, m.simulationResultID, m.simulationResultIDCount, m.xHeaders)
        _ = (m.sessionExpires, m.minSE, m.supported, m.require, m.headerValues("Via"), m.contactURI)
        let wire = m.serialize()
        _ = SIPMessage.parse(wire)
        _ = m.makeResponse(status: 200, toTag: "t", received: "192.0.2.1", rport: 1, headers: [("Contact", "<sip:x@y>")])
    }

    private func outcomeKind(_ outcome: SIPParseOutcome) -> String {
        switch outcome {
        case .message: return "message"
        case .badRequest: return "badRequest"
        case .drop: return "drop"
        }
    }
}
