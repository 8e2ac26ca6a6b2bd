/// Result of parsing one datagram or one framed stream message.
///
/// Three cases rather than `Result` because RFC 3261 §8.2 wants a 400 for a broken request whenever
/// the response can still be routed, and only the parser knows how far it got.
public enum SIPParseOutcome {
    case message(SIPMessage)
    /// Parsed far enough that a 400 can be routed back (a usable top Via, and Call-ID/CSeq/From/To as
    /// far as present), but fails validation. Only ever produced for requests.
    case badRequest(SIPMessage, SIPParseError)
    /// Nothing can be answered: drop (and count/log) it. Every problem response lands here too,
    /// since a response is never answered.
    case drop(SIPParseError)
}

extension SIPParseOutcome: Sendable {}
