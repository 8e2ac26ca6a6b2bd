import XCTest
@testable import BluejayHEP

final class MirrorDatagramTests: XCTestCase {
    let invite = Array("INVITE sip:agent@127.0.0.1 SIP/2.0\r\nCall-ID: a@x\r\n\r\n".utf8)

    func testClassify() throws {
        let hep = HEPPacket(protocolType: 1, captureAgentID: 1, payload: invite)
        XCTAssertEqual(MirrorDatagram.classify(HEPEncoder.encode(hep)), .sip(payload: invite, hep: hep))
        XCTAssertEqual(MirrorDatagram.classify(invite), .sip(payload: invite, hep: nil))
        let resp = Array("SIP/2.0 200 OK\r\n\r\n".utf8)
        XCTAssertEqual(MirrorDatagram.classify(resp), .sip(payload: resp, hep: nil))
        for ignored: [UInt8] in [
            HEPEncoder.encode(HEPPacket(protocolType: 5, payload: [1, 2, 3])),   // RTCP
            HEPEncoder.encode(HEPPacket(protocolType: 1)),                       // no payload
            HEPEncoder.encode(HEPPacket(protocolType: 1, payload: [])),
            HEPEncoder.encode(HEPPacket(payload: invite)),                       // no protocol type
            Array(HEPEncoder.encode(hep).dropLast()),                             // truncated
            [], [0], Array("HEP3".utf8), Array("hello world".utf8), Array("INVITE sip:x\r\n".utf8),
            Array("invite sip:x SIP/2.0\r\n".utf8), Array("SIP/2.0".utf8), [0x02, 0x10, 0x02, 0x11, 0, 0],
        ] {
            guard case .ignored = MirrorDatagram.classify(ignored) else { return XCTFail("\(ignored) not ignored") }
        }
        for (name, d) in try HEPFixtures.all() {
            guard case .sip(let payload, let p?) = MirrorDatagram.classify(d) else { return XCTFail(name) }
            XCTAssertEqual(payload, p.payload)
            XCTAssertEqual(MirrorDatagram.classify(payload), .sip(payload: payload, hep: nil), name)
        }
    }
}
