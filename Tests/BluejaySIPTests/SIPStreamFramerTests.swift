import BluejaySIP
import XCTest

final class SIPStreamFramerTests: XCTestCase {
    private let invite = Fixture.valid("invite-sdp-xheaders.sip")
    private let bye = Fixture.valid("bye.sip")

    private func drain(_ framer: inout SIPStreamFramer) -> [SIPStreamFramer.Frame] {
        var frames: [SIPStreamFramer.Frame] = []
        while let frame = framer.next() {
            frames.append(frame)
            if case .error = frame { break }
        }
        return frames
    }

    func testWholeMessage() {
        var framer = SIPStreamFramer()
        framer.append(invite)
        XCTAssertEqual(drain(&framer), [.message(invite)])
        XCTAssertEqual(framer.bufferedByteCount, 0)
        XCTAssertNil(framer.next())
    }

    func testSplitAtEveryByteBoundary() {
        for split in 0...invite.count {
            var framer = SIPStreamFramer()
            framer.append(Array(invite[..<split]))
            let early = drain(&framer)
            framer.append(Array(invite[split...]))
            let late = drain(&framer)
            XCTAssertEqual(early + late, [.message(invite)], "split at \(split)")
        }
    }

    func testOneByteAtATime() {
        var framer = SIPStreamFramer()
        var frames: [SIPStreamFramer.Frame] = []
        for byte in invite + bye {
            framer.append([byte])
            frames += drain(&framer)
        }
        XCTAssertEqual(frames, [.message(invite), .message(bye)])
    }

    func testTwoMessagesInOneRead() {
        var framer = SIPStreamFramer()
        framer.append(invite + bye)
        XCTAssertEqual(drain(&framer), [.message(invite), .message(bye)])
    }

    func testFramedMessagesParse() throws {
        var framer = SIPStreamFramer()
        framer.append(invite + bye)
        guard case .message(let first) = framer.next(), case .message(let second) = framer.next() else {
            return XCTFail("expected two messages")
        }
        XCTAssertEqual(try expectMessage(SIPMessage.parse(first)).method, "INVITE")
        XCTAssertEqual(try expectMessage(SIPMessage.parse(second)).method, "BYE")
    }

    func testKeepAlivePingsBetweenMessages() {
        let ping: [UInt8] = Array("\r\n\r\n".utf8)
        var framer = SIPStreamFramer()
        framer.append(ping + invite + ping + ping + bye)
        XCTAssertEqual(drain(&framer), [.keepAlive, .message(invite), .keepAlive, .keepAlive, .message(bye)])
    }

    func testKeepAliveArrivingInPieces() {
        var framer = SIPStreamFramer()
        framer.append(Array("\r\n".utf8))
        XCTAssertNil(framer.next(), "half a ping: wait")
        framer.append(Array("\r".utf8))
        XCTAssertNil(framer.next())
        framer.append(Array("\n".utf8))
        XCTAssertEqual(framer.next(), .keepAlive)
        XCTAssertNil(framer.next())
    }

    func testLoneCRLFPongIsSkipped() {
        var framer = SIPStreamFramer()
        framer.append(Array("\r\n".utf8) + bye)
        XCTAssertEqual(drain(&framer), [.message(bye)])
    }

    func testCompactContentLength() {
        let message = sip("""
        MESSAGE sip:a@b.example SIP/2.0
        v: SIP/2.0/TCP h.example;branch=z9hG4bK1
        Max-Forwards: 70
        f: <sip:a@b.example>;tag=1
        t: <sip:a@b.example>
        i: compact-l
        CSeq: 1 MESSAGE
        c: text/plain
        L :  5

        hello
        """)
        var framer = SIPStreamFramer()
        framer.append(message + bye)
        XCTAssertEqual(drain(&framer), [.message(message), .message(bye)])
    }

    func testMissingContentLengthMeansNoBody() {
        let message = sip("""
        OPTIONS sip:a@b.example SIP/2.0
        Via: SIP/2.0/TCP h.example;branch=z9hG4bK1
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>
        Call-ID: no-cl
        CSeq: 1 OPTIONS


        """)
        var framer = SIPStreamFramer()
        framer.append(message + bye)
        XCTAssertEqual(drain(&framer), [.message(message), .message(bye)])
    }

    func testWaitsForTheWholeBody() {
        var framer = SIPStreamFramer()
        framer.append(Array(invite.dropLast(10)))
        XCTAssertNil(framer.next())
        XCTAssertEqual(framer.bufferedByteCount, invite.count - 10)
        framer.append(Array(invite.suffix(10)))
        XCTAssertEqual(framer.next(), .message(invite))
    }

    func testTooLargeHeaders() {
        var framer = SIPStreamFramer(maxMessageSize: 1000)
        framer.append(Array("INVITE sip:a@b SIP/2.0\r\n".utf8))
        framer.append([UInt8](repeating: UInt8(ascii: "a"), count: 1000))
        XCTAssertEqual(framer.next(), .error(.tooLarge(1024)))
        XCTAssertEqual(framer.next(), .error(.tooLarge(1024)), "errors are sticky")
    }

    func testTooLargeDeclaredBody() {
        var framer = SIPStreamFramer()
        framer.append(sip("""
        MESSAGE sip:a@b.example SIP/2.0
        Content-Length: 70000


        """))
        guard case .error(.tooLarge(let size)) = framer.next() else { return XCTFail("expected tooLarge") }
        XCTAssertGreaterThan(size, SIPMessage.maxSize)
    }

    func testBadContentLength() {
        for value in ["-5", "abc", "", "12 34", "99999999999999999999"] {
            var framer = SIPStreamFramer()
            framer.append(sip("MESSAGE sip:a@b.example SIP/2.0\nContent-Length: \(value)\n\n"))
            XCTAssertEqual(framer.next(), .error(.invalid("bad Content-Length \"\(value.split(separator: " ").joined(separator: " "))\"")), value)
        }
    }

    func testConflictingContentLengths() {
        var framer = SIPStreamFramer()
        framer.append(Fixture.invalid("rfc4475-mcl01.sip"))
        XCTAssertEqual(framer.next(), .error(.invalid("conflicting Content-Length headers")))
    }

    func testManyMessagesCompactTheBuffer() {
        var framer = SIPStreamFramer()
        var count = 0
        for _ in 0..<500 {
            framer.append(bye)
            while case .message = framer.next() { count += 1 }
        }
        XCTAssertEqual(count, 500)
        XCTAssertEqual(framer.bufferedByteCount, 0)
    }
}
