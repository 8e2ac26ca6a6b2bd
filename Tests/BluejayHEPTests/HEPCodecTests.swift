import Foundation
import XCTest
@testable import BluejayHEP

/// sip-fixtures/hep/*.hex, found from this file's path (Tests/BluejayHEPTests → ../../sip-fixtures/hep).
enum HEPFixtures {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sip-fixtures/hep")
    }

    static let names = ["kamailio-5.6-siptrace-call.hex", "kamailio-5.6-siptrace-no-header.hex", "python-hep-encoder.hex"]

    static func load(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[UInt8]] {
        let url = directory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [[UInt8]] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let s = raw.trimmingCharacters(in: .whitespaces)
            if s.isEmpty || s.hasPrefix("#") { continue }
            var bytes: [UInt8] = []
            var i = s.startIndex
            while i < s.endIndex {
                let j = s.index(i, offsetBy: 2)
                guard let b = UInt8(s[i ..< j], radix: 16) else {
                    XCTFail("bad hex in \(name)", file: file, line: line)
                    return []
                }
                bytes.append(b)
                i = j
            }
            out.append(bytes)
        }
        XCTAssertFalse(out.isEmpty, "no datagrams in \(name)", file: file, line: line)
        return out
    }

    static func all() throws -> [(String, [UInt8])] {
        try names.flatMap { n in try load(n).enumerated().map { ("\(n)#\($0.offset)", $0.element) } }
    }
}

/// Deterministic PRNG (SplitMix64) for the mutation tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

final class HEPCodecTests: XCTestCase {
    let invite = bytes("INVITE sip:agent@127.0.0.1 SIP/2.0\r\nCall-ID: abc@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")

    func decodeOK(_ d: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> HEPPacket? {
        switch HEPDecoder.decode(d) {
        case .success(let p): return p
        case .failure(let e):
            XCTFail("decode failed: \(e)", file: file, line: line)
            return nil
        }
    }

    func decodeError(_ d: [UInt8]) -> HEPError? {
        if case .failure(let e) = HEPDecoder.decode(d) { return e }
        return nil
    }

    // MARK: round trips

    func testRoundTripIPv4UDP() {
        let p = HEPPacket(ipFamily: 2, protocolID: 17, sourceAddress: "192.0.2.10", destinationAddress: "10.1.2.3",
                          sourcePort: 5060, destinationPort: 5080, timestampSeconds: 1_763_000_000,
                          timestampMicroseconds: 123_456, protocolType: 1, captureAgentID: 2001, payload: invite,
                          correlationID: nil)
        let d = HEPEncoder.encode(p)
        XCTAssertEqual(Array(d[0 ..< 4]), bytes("HEP3"))
        XCTAssertEqual(Int(d[4]) << 8 | Int(d[5]), d.count)
        XCTAssertTrue(HEPDecoder.isHEP(d))
        XCTAssertEqual(decodeOK(d), p)
        XCTAssertEqual(p.captureTimeMs, 1_763_000_000_123)
        XCTAssertTrue(p.isSIP)
    }

    func testRoundTripIPv6TCPWithCorrelation() {
        let p = HEPPacket(ipFamily: 10, protocolID: 6, sourceAddress: "2001:db8::10", destinationAddress: "::1",
                          sourcePort: 5061, destinationPort: 65535, timestampSeconds: 0, timestampMicroseconds: 999_999,
                          protocolType: 1, captureAgentID: 0xffff_ffff, payload: invite, correlationID: "abc@x ☕")
        XCTAssertEqual(decodeOK(HEPEncoder.encode(p)), p)
        XCTAssertEqual(p.captureTimeMs, 999)
    }

    func testRoundTripMixedFamiliesAndSparsePackets() {
        let cases: [HEPPacket] = [
            HEPPacket(),
            HEPPacket(payload: []),
            HEPPacket(protocolType: 5, correlationID: "rtcp-for@call"),
            HEPPacket(ipFamily: 10, protocolID: 17, sourceAddress: "fe80::1:0:0:1", destinationAddress: "::ffff:192.0.2.1",
                      sourcePort: 1, destinationPort: 2, protocolType: 1, payload: invite),
            HEPPacket(ipFamily: 2, protocolID: 132, sourceAddress: "0.0.0.0", destinationAddress: "255.255.255.255",
                      timestampSeconds: UInt32.max, protocolType: 1, payload: Array(repeating: 0x41, count: 60_000)),
        ]
        for p in cases { XCTAssertEqual(decodeOK(HEPEncoder.encode(p)), p) }
        XCTAssertEqual(HEPEncoder.encode(HEPPacket()), bytes("HEP3") + [0, 6])
        XCTAssertNil(HEPPacket().captureTimeMs)
        XCTAssertFalse(HEPPacket(protocolType: 1).isSIP)
        XCTAssertFalse(HEPPacket(protocolType: 5, payload: [1]).isSIP)
    }

    func testIPv6TextIsRFC5952() {
        let cases: [(String, String)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("0:0:0:0:0:0:0:1", "::1"), ("::", "::"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"), ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("[FE80::ABCD]", "fe80::abcd"), ("::ffff:10.0.0.1", "::ffff:10.0.0.1"), ("1::", "1::"),
        ]
        for (input, want) in cases {
            let p = HEPPacket(sourceAddress: input)
            XCTAssertEqual(decodeOK(HEPEncoder.encode(p))?.sourceAddress, want, input)
        }
        // Not an address: left out by the encoder.
        for bad in ["", "1.2.3", "1.2.3.256", "1:2:3:4:5:6:7:8:9", "1::2::3", "g::1", "host.example"] {
            XCTAssertNil(decodeOK(HEPEncoder.encode(HEPPacket(sourceAddress: bad)))?.sourceAddress, bad)
        }
    }

    // MARK: real packets

    func testKamailioFixturesDecodeAndReencodeByteExact() throws {
        let call = try HEPFixtures.load("kamailio-5.6-siptrace-call.hex")
        XCTAssertEqual(call.count, 8)
        var firstLines: [String] = []
        for d in call {
            guard let p = decodeOK(d) else { continue }
            XCTAssertEqual(p.ipFamily, 2)
            XCTAssertEqual(p.protocolID, 17)
            XCTAssertEqual(p.protocolType, 1)
            XCTAssertTrue(p.isSIP)
            XCTAssertEqual(p.captureAgentID, 4711)
            XCTAssertEqual(p.sourceAddress, "127.0.0.1")
            XCTAssertEqual(p.destinationAddress, "127.0.0.1")
            XCTAssertNotNil(p.sourcePort)
            XCTAssertGreaterThan(p.captureTimeMs ?? 0, 1_600_000_000_000)
            XCTAssertNil(p.correlationID)
            // Kamailio writes chunks in the encoder's order, so re-encoding is byte-exact.
            XCTAssertEqual(HEPEncoder.encode(p), d)
            let text = String(decoding: p.payload ?? [], as: UTF8.self)
            firstLines.append(String(text.split(separator: "\r\n").first ?? ""))
        }
        XCTAssertTrue(firstLines[0].hasPrefix("INVITE sip:agent@127.0.0.1:"))
        XCTAssertEqual(firstLines.filter { $0 == "SIP/2.0 200 OK" }.count, 3)
        XCTAssertTrue(firstLines[5].hasPrefix("ACK "))
        XCTAssertTrue(firstLines[6].hasPrefix("BYE "))
        let invite = String(decoding: (try? HEPDecoder.decode(call[0]).get())?.payload ?? [], as: UTF8.self)
        XCTAssertTrue(invite.contains("\r\nX-Simulation-Result-Id: sim-hep-fixture-1\r\n"))
        XCTAssertTrue(invite.contains("\r\nCall-ID: hepfx-1@bluejay-test\r\n"))

        let noHeader = try HEPFixtures.load("kamailio-5.6-siptrace-no-header.hex")
        let inv2 = String(decoding: (try? HEPDecoder.decode(noHeader[0]).get())?.payload ?? [], as: UTF8.self)
        XCTAssertTrue(inv2.hasPrefix("INVITE "))
        XCTAssertFalse(inv2.contains("X-Simulation-Result-Id"))
    }

    func testPythonHelperPacketsDecode() throws {
        let d = try HEPFixtures.load("python-hep-encoder.hex")
        XCTAssertEqual(d.count, 2)
        let a = decodeOK(d[0]), b = decodeOK(d[1])
        XCTAssertEqual(a?.ipFamily, 10)
        XCTAssertEqual(a?.protocolID, 6)
        XCTAssertEqual(a?.sourceAddress, "2001:db8::10")
        XCTAssertEqual(a?.destinationAddress, "2001:db8::20")
        XCTAssertEqual(a?.sourcePort, 5070)
        XCTAssertEqual(a?.destinationPort, 5080)
        XCTAssertEqual(a?.captureTimeMs, 1_763_000_000_250)
        XCTAssertEqual(a?.captureAgentID, 2002)
        XCTAssertEqual(a?.correlationID, "py-enc-1@bluejay-test")
        XCTAssertTrue(a?.isSIP ?? false)
        XCTAssertTrue(String(decoding: a?.payload ?? [], as: UTF8.self).hasPrefix("INVITE sip:agent@[2001:db8::20]:5080 SIP/2.0\r\n"))
        XCTAssertEqual(b?.ipFamily, 2)
        XCTAssertEqual(b?.protocolID, 17)
        XCTAssertEqual(b?.sourceAddress, "192.0.2.1")
        XCTAssertEqual(b?.destinationAddress, "198.51.100.2")
        XCTAssertEqual(b?.captureAgentID, 2001)
        XCTAssertEqual(b?.captureTimeMs, 1_763_000_000_500)
        XCTAssertNil(b?.correlationID)
        XCTAssertEqual(b?.payload, bytes("SIP/2.0 100 Trying\r\nCall-ID: py-enc-1@bluejay-test\r\n\r\n"))
    }

    func testKamailioDuplicateRepliesAreRecognised() throws {
        // Kamailio traced each reply twice (different capture timestamps, same payload).
        let call = try HEPFixtures.load("kamailio-5.6-siptrace-call.hex")
        var filter = DuplicateFilter()
        var processed: [String] = []
        for (i, d) in call.enumerated() {
            guard let p = try? HEPDecoder.decode(d).get(), p.isSIP, let payload = p.payload else { continue }
            if filter.firstSighting(payload, nowMs: Int64(i)) {
                processed.append(String(String(decoding: payload, as: UTF8.self).split(separator: "\r\n")[0]))
            }
        }
        XCTAssertEqual(processed.count, 6, "\(processed)")   // INVITE, 180, 200, ACK, BYE, 200
        XCTAssertEqual(processed.filter { $0 == "SIP/2.0 180 Ringing" }.count, 1)
        XCTAssertNotEqual(call[3], call[4], "the two copies differ as datagrams (timestamps)")
    }

    func testEveryTruncationOfEveryFixtureFails() throws {
        for (name, d) in try HEPFixtures.all() {
            for n in 0 ..< d.count {
                let e = decodeError(Array(d[0 ..< n]))
                if n < 4 {
                    XCTAssertEqual(e, .notHEP, "\(name) cut to \(n)")
                } else if case .truncated = e {
                } else {
                    XCTFail("\(name) cut to \(n): \(String(describing: e))")
                }
            }
            XCTAssertNotNil(decodeOK(d), name)
        }
    }

    func testRandomMutationsNeverCrashAndStayConsistent() throws {
        var rng = SplitMix64(state: 0xB1EE_7A11)
        let seeds = try HEPFixtures.all().map(\.1) + [HEPEncoder.encode(HEPPacket(
            ipFamily: 10, protocolID: 6, sourceAddress: "2001:db8::1", destinationAddress: "2001:db8::2",
            sourcePort: 1, destinationPort: 2, timestampSeconds: 3, timestampMicroseconds: 4, protocolType: 1,
            captureAgentID: 5, payload: invite, correlationID: "c"))]
        var successes = 0, failures = 0
        for round in 0 ..< 5_000 {
            var d = seeds[Int.random(in: 0 ..< seeds.count, using: &rng)]
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                switch Int.random(in: 0 ..< 6, using: &rng) {
                case 0, 1:   // overwrite a byte, biased towards headers
                    let i = Int.random(in: 0 ..< min(d.count, Bool.random(using: &rng) ? 80 : d.count), using: &rng)
                    d[i] = UInt8.random(in: 0 ... 255, using: &rng)
                case 2:   // delete a range
                    let i = Int.random(in: 0 ..< d.count, using: &rng)
                    d.removeSubrange(i ..< min(d.count, i + Int.random(in: 1 ... 16, using: &rng)))
                case 3:   // insert bytes
                    let i = Int.random(in: 0 ... d.count, using: &rng)
                    d.insert(contentsOf: (0 ..< Int.random(in: 1 ... 16, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }, at: i)
                case 4:   // fix the total length to the new size (reach the chunk walker)
                    if d.count >= 6 { d[4] = UInt8(d.count >> 8 & 0xff); d[5] = UInt8(d.count & 0xff) }
                default:  // a random chunk length
                    if d.count > 12 {
                        let i = Int.random(in: 6 ..< d.count - 1, using: &rng)
                        d[i] = UInt8.random(in: 0 ... 1, using: &rng); d[i + 1] = UInt8.random(in: 0 ... 255, using: &rng)
                    }
                }
                if d.isEmpty { break }
            }
            switch HEPDecoder.decode(d) {
            case .success(let p):
                successes += 1
                XCTAssertTrue(HEPDecoder.isHEP(d))
                XCTAssertLessThanOrEqual(p.payload?.count ?? 0, d.count - 12, "round \(round)")
                XCTAssertEqual(try? HEPDecoder.decode(HEPEncoder.encode(p)).get(), p, "round \(round)")
            case .failure(let e):
                failures += 1
                if !HEPDecoder.isHEP(d) { XCTAssertEqual(e, .notHEP, "round \(round)") }
            }
        }
        XCTAssertGreaterThan(successes, 100, "mutations should sometimes stay valid")
        XCTAssertGreaterThan(failures, 1_000)
    }

    // MARK: errors

    func testWrongMagicIsNotHEP() {
        var d = HEPEncoder.encode(HEPPacket(protocolType: 1, payload: invite))
        for i in 0 ..< 4 {
            var m = d
            m[i] ^= 0x20
            XCTAssertEqual(decodeError(m), .notHEP)
            XCTAssertFalse(HEPDecoder.isHEP(m))
        }
        XCTAssertEqual(decodeError(bytes("HEP2") + Array(d[4...])), .notHEP)
        XCTAssertEqual(decodeError(bytes("EEP1") + Array(d[4...])), .notHEP)
        XCTAssertEqual(decodeError(invite), .notHEP)
        XCTAssertEqual(decodeError([]), .notHEP)
        XCTAssertEqual(decodeError([0x02, 0x10, 0x02, 0x11]), .notHEP)   // HEP v2 header start
        d[0] = 0x68   // lower-case "hEP3"
        XCTAssertFalse(HEPDecoder.isHEP(d))
    }

    func testLengthAndChunkErrors() {
        let magic = bytes("HEP3")
        func hdr(_ total: Int) -> [UInt8] { magic + [UInt8(total >> 8), UInt8(total & 0xff)] }
        func chunk(_ vendor: UInt16, _ type: UInt16, _ value: [UInt8], len: Int? = nil) -> [UInt8] {
            let l = len ?? value.count + 6
            return [UInt8(vendor >> 8), UInt8(vendor & 0xff), UInt8(type >> 8), UInt8(type & 0xff), UInt8(l >> 8), UInt8(l & 0xff)] + value
        }
        func packet(_ chunks: [UInt8]) -> [UInt8] { hdr(chunks.count + 6) + chunks }

        guard case .truncated = decodeError(magic + [0]) else { return XCTFail("5 bytes") }
        guard case .badLength = decodeError(hdr(5)) else { return XCTFail("total 5") }
        guard case .badLength = decodeError(hdr(0)) else { return XCTFail("total 0") }
        guard case .truncated = decodeError(hdr(7)) else { return XCTFail("total beyond datagram") }
        guard case .badLength = decodeError(hdr(6) + [0]) else { return XCTFail("trailing byte") }
        guard case .truncated = decodeError(packet([0, 0, 0, 15])) else { return XCTFail("partial chunk header") }
        guard case .badChunk = decodeError(packet(chunk(0, 15, [], len: 5))) else { return XCTFail("chunk len 5") }
        guard case .badChunk = decodeError(packet(chunk(0, 15, [], len: 0))) else { return XCTFail("chunk len 0") }
        guard case .truncated = decodeError(packet(chunk(0, 15, [1, 2], len: 9))) else { return XCTFail("chunk past end") }
        guard case .badChunk = decodeError(packet(chunk(0, 3, [1, 2, 3]))) else { return XCTFail("IPv4 of 3") }
        guard case .badChunk = decodeError(packet(chunk(0, 5, [UInt8](repeating: 0, count: 4)))) else { return XCTFail("IPv6 of 4") }
        guard case .badChunk = decodeError(packet(chunk(0, 7, [1]))) else { return XCTFail("port of 1") }
        guard case .badChunk = decodeError(packet(chunk(0, 9, [1, 2]))) else { return XCTFail("seconds of 2") }
        guard case .badChunk = decodeError(packet(chunk(0, 11, []))) else { return XCTFail("proto type of 0") }
        guard case .badChunk = decodeError(packet(chunk(0, 12, [1, 2, 3]))) else { return XCTFail("capture id of 3") }

        // Unknown chunks and other vendors' chunks are skipped; a 2-byte capture id (old agents) is accepted.
        let ok = packet(chunk(0, 11, [1]) + chunk(0x1234, 1, [9, 9, 9]) + chunk(0, 200, [7]) + chunk(0, 14, bytes("secret"))
                        + chunk(0, 12, [0x12, 0x34]) + chunk(0, 15, invite) + chunk(0, 16, [1, 2, 3]) + chunk(0, 99, []))
        let p = decodeOK(ok)
        XCTAssertEqual(p, HEPPacket(protocolType: 1, captureAgentID: 0x1234, payload: invite))
        // The last copy of a repeated chunk wins.
        XCTAssertEqual(decodeOK(packet(chunk(0, 11, [5]) + chunk(0, 11, [1])))?.protocolType, 1)
    }

    func testIsHEP() {
        XCTAssertTrue(HEPDecoder.isHEP(bytes("HEP3")))
        XCTAssertFalse(HEPDecoder.isHEP(bytes("HEP")))
        XCTAssertFalse(HEPDecoder.isHEP(bytes("SIP/2.0 200 OK\r\n")))
    }
}
