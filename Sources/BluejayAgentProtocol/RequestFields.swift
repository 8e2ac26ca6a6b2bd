import BluejayJSON

/// The known members of one request object, collected in a single walk (first occurrence wins;
/// unknown keys ignored), with typed getters that turn wrong types into errors naming the field.
/// JSON `null` counts as absent for every optional field except `output`.
struct RequestFields {
    var type, callID, simulationResultID: RawJSON?
    var name, toolName, description, parameters, output, result: RawJSON?
    var title, tags, metadata: RawJSON?
    var speaker, utterance, fillerUtterance: RawJSON?
    var timestamp, startOffsetMs, endTimestamp, endOffsetMs: RawJSON?

    init(_ members: [(key: String, value: RawJSON)]) {
        for (key, value) in members {
            switch key {
            case "type": Self.first(&type, value)
            case "call_id": Self.first(&callID, value)
            case "simulation_result_id": Self.first(&simulationResultID, value)
            case "name": Self.first(&name, value)
            case "tool_name": Self.first(&toolName, value)
            case "description": Self.first(&description, value)
            case "parameters": Self.first(&parameters, value)
            case "output": Self.first(&output, value)
            case "result": Self.first(&result, value)
            case "title": Self.first(&title, value)
            case "tags": Self.first(&tags, value)
            case "metadata": Self.first(&metadata, value)
            case "speaker": Self.first(&speaker, value)
            case "utterance": Self.first(&utterance, value)
            case "filler_utterance": Self.first(&fillerUtterance, value)
            case "timestamp": Self.first(&timestamp, value)
            case "start_offset_ms": Self.first(&startOffsetMs, value)
            case "end_timestamp": Self.first(&endTimestamp, value)
            case "end_offset_ms": Self.first(&endOffsetMs, value)
            default: break
            }
        }
    }

    private static func first(_ slot: inout RawJSON?, _ value: RawJSON) {
        if slot == nil { slot = value }
    }

    /// Drops JSON null so optional fields treat it as absent.
    private static func present(_ v: RawJSON?) -> RawJSON? {
        guard let v, !v.isNull else { return nil }
        return v
    }

    // MARK: Typed getters

    /// Present non-null string; `label` is what the missing-field message names (e.g. `"name" (or "tool_name")`).
    static func requiredString(_ v: RawJSON?, _ field: String, label: String? = nil) throws(AgentProtocolError) -> RawJSON {
        guard let v = present(v) else { throw .missing(label ?? "\"\(field)\"") }
        guard v.kind == .string else { throw .badValue(field, "a string", got: v) }
        return v
    }

    static func optionalString(_ v: RawJSON?, _ field: String) throws(AgentProtocolError) -> RawJSON? {
        guard let v = present(v) else { return nil }
        guard v.kind == .string else { throw .badValue(field, "a string", got: v) }
        return v
    }

    static func optionalObject(_ v: RawJSON?, _ field: String) throws(AgentProtocolError) -> RawJSON? {
        guard let v = present(v) else { return nil }
        guard v.kind == .object else { throw .badValue(field, "an object", got: v) }
        return v
    }

    static func optionalStringArray(_ v: RawJSON?, _ field: String) throws(AgentProtocolError) -> RawJSON? {
        guard let v = present(v) else { return nil }
        guard let elements = v.elements, elements.allSatisfy({ $0.kind == .string }) else {
            throw .badValue(field, "an array of strings", got: v)
        }
        return v
    }

    static func optionalBool(_ v: RawJSON?, _ field: String) throws(AgentProtocolError) -> RawJSON? {
        guard let v = present(v) else { return nil }
        guard v.kind == .bool else { throw .badValue(field, "true or false", got: v) }
        return v
    }

    /// Non-empty string identifier (call_id, simulation_result_id).
    static func optionalID(_ v: RawJSON?, _ field: String) throws(AgentProtocolError) -> String? {
        guard let v = present(v) else { return nil }
        guard let s = v.string, !s.isEmpty else { throw .badValue(field, "a non-empty string", got: v) }
        return s
    }

    /// The call the request names; at least one of call_id / simulation_result_id is required.
    func callReference() throws(AgentProtocolError) -> CallReference {
        let call = CallReference(callID: try Self.optionalID(callID, "call_id"),
                                 simulationResultID: try Self.optionalID(simulationResultID, "simulation_result_id"))
        guard call.callID != nil || call.simulationResultID != nil else {
            throw .missing("\"call_id\" (or \"simulation_result_id\")")
        }
        return call
    }

    /// An offset field wins over its timestamp field; nil when neither is given.
    static func time(offset: RawJSON?, _ offsetField: String,
                     timestamp: RawJSON?, _ timestampField: String) throws(AgentProtocolError) -> RecordTime? {
        if let o = present(offset) {
            guard let ms = o.int64, ms >= 0 else {
                throw .badValue(offsetField, "a non-negative integer (milliseconds since the call was answered)", got: o)
            }
            return .offsetMs(ms)
        }
        if let t = present(timestamp) {
            guard t.kind == .string, let ms = epochMs(t) else {
                throw .badValue(timestampField, "an RFC 3339 date-time such as \"2024-01-15T14:20:00Z\"", got: t)
            }
            return .epochMs(ms)
        }
        return nil
    }

    /// Parses straight from the raw string bytes unless the agent used escapes.
    private static func epochMs(_ t: RawJSON) -> Int64? {
        if !t.bytes.contains(UInt8(ascii: "\\")) {
            return t.bytes.withUnsafeBufferPointer { RFC3339.epochMs(utf8: UnsafeBufferPointer(rebasing: $0.dropFirst().dropLast())) }
        }
        return t.string.flatMap(RFC3339.epochMs)
    }
}
