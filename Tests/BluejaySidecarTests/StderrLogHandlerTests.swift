import Foundation
import Logging
import XCTest
@testable import BluejaySidecar

/// The log line formats, byte for byte: the text line is swift-log's `StreamLogHandler` line (operators' parsers
/// read it), the JSON line one object per line.
final class StderrLogHandlerTests: XCTestCase {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "disk full" }
    }

    private func event(error: Error? = nil, metadata: Logger.Metadata?) -> LogEvent {
        LogEvent(level: .notice, message: "call ended", error: error, metadata: metadata, source: "BluejayCalls",
                 file: "BluejayCalls/UserAgentServer.swift", function: "f", line: 1)
    }

    private func handler(_ format: RunOptions.LogFormat) -> StderrLogHandler {
        var handler = StderrLogHandler(label: "bluejay-sidecar", format: format)
        handler[metadataKey: "zone"] = "handler"
        handler[metadataKey: "call_id"] = "from-the-handler"
        return handler
    }

    /// Everything after the timestamp (the current second's).
    private func textAfterStamp(_ bytes: [UInt8]) -> String {
        let line = String(decoding: bytes, as: UTF8.self)
        let stamp = line.prefix { $0 != " " }
        XCTAssertNotNil(stamp.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/#), line)
        return String(line.dropFirst(stamp.count))
    }

    func testTextLineSortsMetadataAndTheCallersWinsOverTheHandlers() {
        let line = handler(.text).line(event(metadata: ["call_id": "c1", "records": .stringConvertible(3),
                                                        "tags": .array(["a", "b"]), "by": "caller"]))
        XCTAssertEqual(textAfterStamp(line),
                       " notice bluejay-sidecar: by=caller call_id=c1 records=3 tags=[\"a\", \"b\"] zone=handler [BluejayCalls] call ended\n")
    }

    func testTextLineWithoutMetadataOrLabel() {
        let line = StderrLogHandler(label: "", format: .text).line(event(metadata: nil))
        XCTAssertEqual(textAfterStamp(line), " notice: [BluejayCalls] call ended\n")
    }

    func testTextLineNamesTheError() {
        let line = handler(.text).line(event(error: Refused(), metadata: ["error.message": "replaced"]))
        XCTAssertEqual(textAfterStamp(line),
                       " notice bluejay-sidecar: call_id=from-the-handler error.message=disk full "
                       + "error.type=BluejaySidecarTests.StderrLogHandlerTests.Refused zone=handler [BluejayCalls] call ended\n")
    }

    func testJSONLineIsOneObjectWithSortedStringMembers() throws {
        let line = handler(.json).line(event(metadata: ["call_id": "c1", "records": .stringConvertible(3), "level": "spoofed"]))
        XCTAssertEqual(line.last, UInt8(ascii: "\n"))
        XCTAssertEqual(line.filter { $0 == UInt8(ascii: "\n") }.count, 1)
        let text = String(decoding: line.dropLast(), as: UTF8.self)
        let keys = text.matches(of: #/"([a-z_]+)":/#).map { String($0.1) }
        XCTAssertEqual(keys, ["ts", "level", "label", "message", "call_id", "records", "zone"], text)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: String])
        XCTAssertEqual(object["level"], "notice")
        XCTAssertEqual(object["message"], "call ended")
        XCTAssertEqual(object["call_id"], "c1")
        XCTAssertEqual(object["records"], "3")
        XCTAssertEqual(object["zone"], "handler")
    }
}
