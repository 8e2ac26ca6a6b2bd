import BluejayJSON

/// Reply lines (each ends with "\n"); one per request line, so agents can pair them by order.
public enum AgentReply {
    /// `{"ok":true}\n`
    public static let ok: [UInt8] = Array("{\"ok\":true}\n".utf8)

    /// `{"ok":false,"error":"<code>","message":"<text>"}\n`
    public static func error(_ e: AgentProtocolError) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + e.message.utf8.count)
        w.beginObject()
        w.member("ok", bool: false)
        w.member("error", string: e.code.rawValue)
        w.member("message", string: e.message)
        w.endObject()
        return w.bytes + [UInt8(ascii: "\n")]
    }

    /// `{"ok":true,"call_id":"…","simulation_result_id":"…"|null,"state":"…","started_at":"<RFC 3339 UTC, ms>"}\n`
    public static func lookup(callID: String, simulationResultID: String?, state: String, startedAtEpochMs: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + callID.utf8.count)
        w.beginObject()
        w.member("ok", bool: true)
        w.member("call_id", string: callID)
        if let simulationResultID { w.member("simulation_result_id", string: simulationResultID) } else { w.memberNull("simulation_result_id") }
        w.member("state", string: state)
        w.member("started_at", string: RFC3339.format(epochMs: startedAtEpochMs))
        w.endObject()
        return w.bytes + [UInt8(ascii: "\n")]
    }
}
