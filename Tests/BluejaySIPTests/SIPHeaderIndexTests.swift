@testable import BluejaySIP
import XCTest

/// The byte-level header index behind every header lookup: line ends found eight bytes at a time, folds,
/// line-end styles, and names that are not ASCII.
final class SIPHeaderIndexTests: XCTestCase {
    /// Every start offset of lines holding CR, LF, HTAB, high bytes and NUL at every distance from a word
    /// boundary gives the first CR or LF, as a byte-by-byte walk does.
    func testLineEndMatchesByteWalk() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [ASCII.cr, ASCII.lf, ASCII.tab, ASCII.space, 0, 0x80, 0xFF, 0x0C, 0x0E, 0x8D, 0x8A, 65, 97]
        for length in 0..<40 {
            for _ in 0..<50 {
                let bytes = (0..<length).map { _ in
                    Bool.random(using: &generator) ? UInt8(ascii: "x") : alphabet.randomElement(using: &generator)!
                }
                bytes.withUnsafeBytes { raw in
                    for start in 0...length {
                        let expected = bytes[start...].firstIndex { $0 == ASCII.cr || $0 == ASCII.lf } ?? length
                        XCTAssertEqual(SIPRawLayout.lineEnd(raw, from: start), expected, "\(bytes) from \(start)")
                    }
                }
            }
        }
    }

    func testFoldsAndLineEndStyles() {
        for newline in ["\r\n", "\n", "\r"] {
            let text = [
                "OPTIONS sip:a@b.example SIP/2.0", "Via: SIP/2.0/UDP h.example;branch=z9hG4bK1", "Max-Forwards: 70",
                "From: <sip:a@b.example>;tag=1", "To: <sip:a@b.example>", "Call-ID: folds", "CSeq: 1 OPTIONS",
                "X-A:  one \t two", "  three", "\t", "\tfour  ", "no colon here", " continued", "x-b :", " five",
                "Content-Length: 0", "", "",
            ].joined(separator: newline)
            // libosip2 refuses the line without a colon; the 400's message still reads the rest.
            guard case .badRequest(let m, _) = SIPMessage.parse(Array(text.utf8)) else {
                return XCTFail("expected a 400 for \(newline.debugDescription)")
            }
            XCTAssertEqual(m.headerValues("x-a"), ["one two three four"], newline.debugDescription)
            XCTAssertEqual(m.xHeaders.map(\.name), ["X-A", "x-b"], newline.debugDescription)
            XCTAssertEqual(m.xHeaders.map(\.value), ["one two three four", "five"], newline.debugDescription)
        }
    }

    /// Names that are not ASCII compare as the Strings they decode to, as they did before the index.
    func testNonASCIINames() throws {
        var bytes = sip("""
        OPTIONS sip:a@b.example SIP/2.0
        Via: SIP/2.0/UDP h.example;branch=z9hG4bK1
        Max-Forwards: 70
        From: <sip:a@b.example>;tag=1
        To: <sip:a@b.example>
        Call-ID: names
        CSeq: 1 OPTIONS
        X-\u{C4}: umlaut
        Content-Length: 0


        """)
        let marker = Array("Content-Length".utf8)
        let at = try XCTUnwrap(bytes.indices.first { bytes[$0...].starts(with: marker) })
        bytes.insert(contentsOf: Array("X-".utf8) + [0xFF] + Array(": invalid\r\n".utf8), at: at)
        let m = try expectMessage(SIPMessage.parse(bytes))
        XCTAssertEqual(m.headerValues("X-\u{C4}"), ["umlaut"])
        XCTAssertEqual(m.headerValues("x-\u{C4}"), ["umlaut"], "ASCII case is ignored around the other bytes")
        XCTAssertEqual(m.headerValues("X-\u{FFFD}"), ["invalid"], "an invalid byte reads as U+FFFD, as in the name's String")
        XCTAssertEqual(m.xHeaders.map(\.name), ["X-\u{C4}", "X-\u{FFFD}"])
        XCTAssertEqual(m.extensionHeaders.map(\.value), ["70", "umlaut", "invalid"])
    }
}
