import BluejaySIP
import Foundation
import XCTest

/// Loads the SIP message fixtures bundled from `Fixtures/` (also visible as `sip-fixtures/messages`).
enum Fixture {
    static var root: URL {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("Fixtures folder missing from the test bundle")
        }
        return url
    }

    /// File names (without folder) in `valid/` or `invalid/`, sorted.
    static func names(in folder: String) -> [String] {
        let directory = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".sip") }.sorted()
    }

    static func bytes(_ folder: String, _ name: String) -> [UInt8] {
        let url = root.appendingPathComponent(folder).appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url) else { fatalError("missing fixture \(folder)/\(name)") }
        return [UInt8](data)
    }

    static func valid(_ name: String) -> [UInt8] { bytes("valid", name) }
    static func invalid(_ name: String) -> [UInt8] { bytes("invalid", name) }

    /// Parses a fixture that must be accepted.
    static func message(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> SIPMessage {
        try expectMessage(SIPMessage.parse(valid(name)), name, file: file, line: line)
    }
}

func expectMessage(_ outcome: SIPParseOutcome, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) throws -> SIPMessage {
    switch outcome {
    case .message(let message):
        return message
    case .badRequest(_, let error):
        XCTFail("\(label): expected a message, got badRequest(\(error))", file: file, line: line)
    case .drop(let error):
        XCTFail("\(label): expected a message, got drop(\(error))", file: file, line: line)
    }
    throw UnexpectedOutcome(label: label)
}

struct UnexpectedOutcome: Error, CustomStringConvertible {
    var label: String
    var description: String { "unexpected parse outcome for \(label)" }
}

/// Builds a message text with CRLF line ends from LF-separated lines.
func sip(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}

/// The fields a round trip through `serialize()` must preserve.
struct KeyFields: Equatable {
    var isRequest: Bool
    var method: String
    var statusCode: Int
    var requestURI: String?
    var callID: String
    var cseqNumber: UInt32
    var cseqMethod: String
    var fromTag: String?
    var toTag: String?
    var fromHeader: String
    var toHeader: String
    var fromURI: String
    var toURI: String
    var vias: [SIPVia]
    var maxForwards: Int?
    var contentType: String?
    var body: [UInt8]
    var simulationResultID: String?
    var xHeaders: [String]
    var supported: [String]
    var require: [String]
    var sessionExpires: String?
    var minSE: Int?

    init(_ m: SIPMessage) {
        isRequest = m.isRequest
        method = m.method
        statusCode = m.statusCode
        requestURI = m.requestURI
        callID = m.callID
        cseqNumber = m.cseqNumber
        cseqMethod = m.cseqMethod
        fromTag = m.fromTag
        toTag = m.toTag
        fromHeader = m.fromHeader
        toHeader = m.toHeader
        fromURI = m.fromURI
        toURI = m.toURI
        vias = m.vias
        maxForwards = m.maxForwards
        contentType = m.contentType
        body = m.body
        simulationResultID = m.simulationResultID
        // libosip2 re-capitalises unknown header names on output; names compare case-insensitively.
        xHeaders = m.xHeaders.map { "\($0.name.lowercased())=\($0.value)" }
        supported = m.supported
        require = m.require
        sessionExpires = m.sessionExpires.map { "\($0.seconds);\($0.refresher ?? "")" }
        minSE = m.minSE
    }
}
