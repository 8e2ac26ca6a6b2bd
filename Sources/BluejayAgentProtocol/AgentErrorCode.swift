/// Machine-readable reason in an error reply, so agents can branch without parsing prose.
public enum AgentErrorCode: String, Sendable {
    case badJSON = "bad_json"
    case unknownType = "unknown_type"
    case missingField = "missing_field"
    case badValue = "bad_value"
    case unknownCall = "unknown_call"
    case callFlushed = "call_flushed"
    /// The call's records would pass `maxCallRecordBytes`: its body could no longer be stored or sent.
    case callTooLarge = "call_too_large"
    case lineTooLong = "line_too_long"
    case storeUnavailable = "store_unavailable"
    case internalError = "internal_error"
    /// The connecting process's uid/gid is not in `--socket-allow-uid` / `--socket-allow-gid`.
    case permissionDenied = "permission_denied"
}
