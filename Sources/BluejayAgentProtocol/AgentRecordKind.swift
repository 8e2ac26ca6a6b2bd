/// Which part of Bluejay's body a stored record feeds; raw values match the request `type`.
public enum AgentRecordKind: String, Sendable, CaseIterable {
    case toolCall = "tool_call"
    case event
    case transcript
    case metadata
    case tags
}
