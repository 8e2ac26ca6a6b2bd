import BluejayJSON

/// A rejected request line: `code` for programs, `message` for the human reading the agent's logs.
/// Messages name the offending field and quote at most ~60 bytes of the input.
public struct AgentProtocolError: Error, Equatable, Sendable {
    public var code: AgentErrorCode
    public var message: String

    public init(code: AgentErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    static func missing(_ field: String) -> AgentProtocolError {
        AgentProtocolError(code: .missingField, message: "missing field \(field)")
    }

    static func badValue(_ field: String, _ expectation: String, got value: RawJSON) -> AgentProtocolError {
        AgentProtocolError(code: .badValue, message: "\(field) must be \(expectation), got \(excerpt(value.bytes))")
    }

    /// Maximum bytes of agent input quoted back in a message.
    static let excerptLimit = 60

    /// The input's first bytes, cut on a UTF-8 boundary, with "…" when shortened.
    static func excerpt(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.count > excerptLimit else { return String(decoding: bytes, as: UTF8.self) }
        var end = bytes.startIndex + excerptLimit
        while end > bytes.startIndex, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self) + "…"
    }
}
