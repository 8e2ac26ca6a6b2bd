import BluejayAgentProtocol
import BluejayJSON
import Foundation

/// One request line, encoded when it is made (on the caller's thread) so the connection only moves bytes.
public struct SidecarRequest: Sendable {
    /// The line, newline included.
    public let line: [UInt8]
    /// The request `type`, and a tool name or event title, for log lines.
    public let kind: String
    public let label: String?

    init(kind: String, label: String? = nil, call: CallRef?, _ body: (inout JSONWriter) -> Void) {
        var w = JSONWriter()
        w.beginObject()
        w.member("type", string: kind)
        call?.write(into: &w)
        body(&w)
        w.endObject()
        line = w.bytes + [0x0A]
        self.kind = kind
        self.label = label
    }

    public static func toolCall(_ name: String, call: CallRef, parameters: JSONValue? = nil, output: JSONValue? = nil,
                                description: String? = nil, at: Date = Date()) -> SidecarRequest {
        SidecarRequest(kind: "tool_call", label: name, call: call) { w in
            w.member("name", string: name)
            if let parameters { w.member("parameters", parameters) }
            if let output { w.member("output", output) }
            if let description { w.member("description", string: description) }
            w.member("timestamp", string: RFC3339.format(at))
        }
    }

    /// An event at `at`, or at `startOffsetMs` (ms since the answer) when given; `endOffsetMs` makes it a span.
    public static func event(_ title: String, call: CallRef, at: Date = Date(), startOffsetMs: Int? = nil,
                             endOffsetMs: Int? = nil, description: String? = nil, tags: [String]? = nil,
                             metadata: JSONValue? = nil) -> SidecarRequest {
        SidecarRequest(kind: "event", label: title, call: call) { w in
            w.member("title", string: title)
            if let startOffsetMs { w.member("start_offset_ms", int: startOffsetMs) } else { w.member("timestamp", string: RFC3339.format(at)) }
            if let endOffsetMs { w.member("end_offset_ms", int: endOffsetMs) }
            if let description { w.member("description", string: description) }
            if let tags { w.key("tags"); w.beginArray(); for t in tags { w.string(t) }; w.endArray() }
            if let metadata { w.member("metadata", metadata) }
        }
    }

    /// Merged into the call's metadata; later keys win.
    public static func metadata(_ metadata: JSONValue, call: CallRef) -> SidecarRequest {
        SidecarRequest(kind: "metadata", call: call) { w in w.member("metadata", metadata) }
    }

    public static func tags(_ tags: [String], call: CallRef) -> SidecarRequest {
        SidecarRequest(kind: "tags", call: call) { w in w.key("tags"); w.beginArray(); for t in tags { w.string(t) }; w.endArray() }
    }

    public enum Speaker: String, Sendable { case agent = "AGENT", user = "USER" }

    public static func transcript(_ speaker: Speaker, _ utterance: String, call: CallRef, startOffsetMs: Int? = nil,
                                  endOffsetMs: Int? = nil) -> SidecarRequest {
        SidecarRequest(kind: "transcript", call: call) { w in
            w.member("speaker", string: speaker.rawValue)
            w.member("utterance", string: utterance)
            if let startOffsetMs { w.member("start_offset_ms", int: startOffsetMs) }
            if let endOffsetMs { w.member("end_offset_ms", int: endOffsetMs) }
        }
    }

    /// The agent is done: flush without the linger; a ledger opened with `start` is closed.
    public static func end(call: CallRef) -> SidecarRequest { SidecarRequest(kind: "end", call: call) { _ in } }

    public static func lookup(call: CallRef) -> SidecarRequest { SidecarRequest(kind: "lookup", call: call) { _ in } }

    /// Opens a ledger with no SIP call behind it; the reply carries the `call_id` the sidecar made.
    public static func start(simulationResultID: String) -> SidecarRequest {
        SidecarRequest(kind: "start", call: .simulationResultID(simulationResultID)) { _ in }
    }
}
