import BluejayJSON
/// The sidecar's reply to one request line, or a client-side stand-in for one.
///
/// Errors are values, never thrown: a record the sidecar refuses must not disturb the agent's audio path.
/// Besides the sidecar's codes (`unknown_call`, `bad_value`, …) the client uses `queue_full` (dropped from
/// the local queue), `client_closed` (still queued at shutdown) and `bad_reply` (an unparseable line).
public struct AgentReply: Sendable, Equatable {
    /// The whole reply object, e.g. `lookup`'s and `start`'s `call_id`, `state`, `started_at`.
    public let body: JSONValue

    public init(body: JSONValue) { self.body = body }

    public var ok: Bool { body["ok"]?.boolValue ?? false }
    /// The error code when `ok` is false.
    public var error: String? { body["error"]?.stringValue }
    public var message: String? { body["message"]?.stringValue }
    public var callID: String? { body["call_id"]?.stringValue }
    public var simulationResultID: String? { body["simulation_result_id"]?.stringValue }
    public var state: String? { body["state"]?.stringValue }

    static func local(_ code: String, _ message: String) -> AgentReply {
        AgentReply(body: ["ok": false, "error": .string(code), "message": .string(message)])
    }

    static func parse(_ line: [UInt8]) -> AgentReply {
        if let v = try? JSONValue.parse(line), case .object = v { return AgentReply(body: v) }
        return .local("bad_reply", "unparseable reply: " + String(decoding: line.prefix(200), as: UTF8.self))
    }
}
