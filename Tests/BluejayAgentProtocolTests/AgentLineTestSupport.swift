import BluejayAgentProtocol
import XCTest

/// Shared helpers: decode a line written as a Swift string, and read fragments as text.
extension XCTestCase {
    static let arrival: Int64 = 1_705_328_000_000

    func decode(_ line: String) -> Result<AgentRequest, AgentProtocolError> {
        AgentLine.decode(Array(line.utf8)[...], arrivalEpochMs: Self.arrival)
    }

    func record(_ line: String, file: StaticString = #filePath, line l: UInt = #line) throws -> AgentRecord {
        switch decode(line) {
        case let .success(.record(r)): return r
        case let other:
            XCTFail("expected a record, got \(other)", file: file, line: l)
            throw UnexpectedResult()
        }
    }

    func failure(_ line: String, file: StaticString = #filePath, line l: UInt = #line) -> AgentProtocolError? {
        switch decode(line) {
        case let .failure(e): return e
        case let .success(r):
            XCTFail("expected an error, got \(r)", file: file, line: l)
            return nil
        }
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}

struct UnexpectedResult: Error {}
