/// Why a message was refused. Carried by `SIPParseOutcome` so the caller can count, log and (for a
/// routable request) answer 400 with the description as the reason.
public enum SIPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Larger than `SIPMessage.maxSize`; the associated value is the size seen.
    case tooLarge(Int)
    /// libosip2 refused it, or it is not SIP at all.
    case unparseable(String)
    /// A mandatory header is absent: "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards" (requests only).
    case missingHeader(String)
    /// Parsed, but one of our own RFC 3261 / RFC 4475 checks failed.
    case invalid(String)

    public var description: String {
        switch self {
        case .tooLarge(let size): return "message too large (\(size) bytes)"
        case .unparseable(let why): return "unparseable: \(why)"
        case .missingHeader(let name): return "missing \(name) header"
        case .invalid(let why): return "invalid: \(why)"
        }
    }
}
