import BluejaySIP
import XCTest

final class SDPAnswerTests: XCTestCase {
    private func lines(_ sdp: [UInt8]?) -> [String] {
        guard let sdp else { return [] }
        let text = String(decoding: sdp, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("\r\n"))
        XCTAssertFalse(text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "CRLF line ends only")
        return text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    func testFirstAudioCodecChosenOthersRejected() throws {
        let offer = try Fixture.message("invite-sdp-xheaders.sip").body
        let answer = lines(SDPAnswer.answer(to: offer, localAddress: "203.0.113.5", sessionID: 7))
        XCTAssertEqual(answer, [
            "v=0",
            "o=- 7 7 IN IP4 203.0.113.5",
            "s=-",
            "c=IN IP4 203.0.113.5",
            "t=0 0",
            "m=audio 9 RTP/AVP 111",
            "a=rtpmap:111 opus/48000/2",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=inactive",
            "m=video 0 RTP/AVP 96 97",
        ])
    }

    /// Found by fuzzing: libosip2's sdp_message_parse read one byte past the terminator of an offer ending with
    /// an m= line closed by a bare CR or LF. Only AddressSanitizer sees that read (`make sanitizers` runs this).
    func testOfferEndingWithBareLineEndAfterMLine() {
        for end in ["\r", "\n"] {
            let offer = Array("v=0\r\no=a 1 1 IN IP4 192.0.2.4\r\ns=x\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\(end)".utf8)
            let answer = lines(SDPAnswer.answer(to: offer, localAddress: "203.0.113.5", sessionID: 7))
            XCTAssertEqual(answer.filter { $0.hasPrefix("m=") }, ["m=audio 9 RTP/AVP 0", "m=video 0 RTP/AVP 96"], end.debugDescription)
        }
    }

    func testMLineCountAndOrderPreserved() throws {
        let offer = try Fixture.message("rfc5118-mult-ip-in-sdp.sip").body
        let answer = lines(SDPAnswer.answer(to: offer, localAddress: "2001:db8::5", sessionID: 1))
        XCTAssertEqual(answer.filter { $0.hasPrefix("m=") }, ["m=audio 9 RTP/AVP 0", "m=video 0 RTP/AVP 107"])
        XCTAssertTrue(answer.contains("c=IN IP6 2001:db8::5"))
        XCTAssertTrue(answer.contains("o=- 1 1 IN IP6 2001:db8::5"))
        XCTAssertFalse(answer.contains { $0.hasPrefix("a=rtpmap:107") })
    }

    func testStaticPayloadWithoutRtpmap() throws {
        let offer = try Fixture.message("rfc4475-wsinv.sip").body
        let answer = lines(SDPAnswer.answer(to: offer, localAddress: "192.0.2.9", sessionID: 2))
        XCTAssertEqual(Array(answer.suffix(3)), ["m=audio 9 RTP/AVP 0", "a=inactive", "m=video 0 RTP/AVP 31"])
    }

    func testVideoFirstThenAudio() {
        let offer = sip("""
        v=0
        o=x 1 1 IN IP4 192.0.2.1
        s=-
        c=IN IP4 192.0.2.1
        t=0 0
        m=video 5000 RTP/AVP 96
        a=rtpmap:96 VP8/90000
        m=audio 0 RTP/AVP 0
        m=audio 6000 RTP/SAVP 8 0
        a=rtpmap:8 PCMA/8000
        a=rtpmap:0 PCMU/8000
        a=sendrecv
        m=audio 7000 RTP/AVP 0

        """)
        let answer = lines(SDPAnswer.answer(to: offer, localAddress: "192.0.2.2", sessionID: 3))
        XCTAssertEqual(answer.filter { $0.hasPrefix("m=") }, [
            "m=video 0 RTP/AVP 96",
            "m=audio 0 RTP/AVP 0",          // offered with port 0: stays rejected
            "m=audio 9 RTP/SAVP 8",         // first usable audio stream
            "m=audio 0 RTP/AVP 0",          // only one stream is accepted
        ])
        XCTAssertEqual(answer.filter { $0.hasPrefix("a=") }, ["a=rtpmap:8 PCMA/8000", "a=inactive"])
    }

    func testNoAudioRejectsEverything() {
        let offer = sip("v=0\no=x 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=video 5000 RTP/AVP 96\n")
        let answer = lines(SDPAnswer.answer(to: offer, localAddress: "192.0.2.2", sessionID: 4))
        XCTAssertEqual(answer.filter { $0.hasPrefix("m=") }, ["m=video 0 RTP/AVP 96"])
        XCTAssertFalse(answer.contains("a=inactive"))
    }

    func testIPv6OfferAnsweredOnIPv4AndViceVersa() throws {
        let offer = try Fixture.message("rfc5118-ipv6-in-sdp.sip").body
        let v4 = lines(SDPAnswer.answer(to: offer, localAddress: "192.0.2.2", sessionID: 5))
        XCTAssertTrue(v4.contains("c=IN IP4 192.0.2.2"))
        XCTAssertTrue(v4.contains("m=audio 9 RTP/AVP 2"))
        XCTAssertTrue(v4.contains("a=rtpmap:2 G726-32/8000"))
        let v6 = lines(SDPAnswer.answer(to: offer, localAddress: "[2001:db8::1]", sessionID: 5))
        XCTAssertTrue(v6.contains("c=IN IP6 2001:db8::1"), "brackets are stripped: \(v6)")
    }

    func testBadSDPIsNil() {
        XCTAssertNil(SDPAnswer.answer(to: [], localAddress: "192.0.2.2", sessionID: 1))
        XCTAssertNil(SDPAnswer.answer(to: Array("hello world".utf8), localAddress: "192.0.2.2", sessionID: 1))
        XCTAssertNil(SDPAnswer.answer(to: [0xff, 0x00, 0x13, 0x37], localAddress: "192.0.2.2", sessionID: 1))
        // Parseable, but no m-line.
        XCTAssertNil(SDPAnswer.answer(to: sip("v=0\no=x 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"),
                                      localAddress: "192.0.2.2", sessionID: 1))
    }

    func testOfferForSDPlessInvite() {
        let offer = lines(SDPAnswer.offer(localAddress: "203.0.113.5", sessionID: 99))
        XCTAssertEqual(offer, [
            "v=0",
            "o=- 99 99 IN IP4 203.0.113.5",
            "s=-",
            "c=IN IP4 203.0.113.5",
            "t=0 0",
            "m=audio 9 RTP/AVP 0 8",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=inactive",
        ])
        XCTAssertTrue(lines(SDPAnswer.offer(localAddress: "2001:db8::5", sessionID: 1)).contains("c=IN IP6 2001:db8::5"))
        // Our own offer is answerable by our own answerer.
        XCTAssertNotNil(SDPAnswer.answer(to: SDPAnswer.offer(localAddress: "192.0.2.1", sessionID: 1), localAddress: "192.0.2.2", sessionID: 2))
    }
}
