/// When a record happened, as the agent said it: wall clock or offset from answer.
/// Kept unresolved because the answer time may only be known (from SIP) after the record arrives.
public enum RecordTime: Equatable, Hashable, Sendable {
    /// Milliseconds since the Unix epoch (from an RFC 3339 timestamp, or the line's arrival time).
    case epochMs(Int64)
    /// Milliseconds since the call was answered.
    case offsetMs(Int64)
}
