import BluejayJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The known members of one request object, collected in a single walk (first occurrence wins;
/// unknown keys ignored), with typed getters that turn wrong types into errors naming the field.
/// JSON `null` counts as absent for every optional field except `output`.
struct RequestFields {
    var type, callID, simulationResultID: RawJSON?
    var name, toolName, description, parameters, output, result: RawJSON?
    var title, tags, metadata: RawJSON?
    var speaker, utterance, fillerUtterance: RawJSON?
    var timestamp, startOffsetMs, endTimestamp, endOffsetMs: RawJSON?

    /// `object` is a JSON object; keys are matched on their decoded bytes.
    init(_ object: RawJSON) {
        object.forEachMember { key, value in
            switch key.count {
            case 4:
                if Self.is(key, "type") { Self.first(&type, value) }
                else if Self.is(key, "name") { Self.first(&name, value) }
                else if Self.is(key, "tags") { Self.first(&tags, value) }
            case 5:
                if Self.is(key, "title") { Self.first(&title, value) }
            case 6:
                if Self.is(key, "output") { Self.first(&output, value) }
                else if Self.is(key, "result") { Self.first(&result, value) }
            case 7:
                if Self.is(key, "call_id") { Self.first(&callID, value) }
                else if Self.is(key, "speaker") { Self.first(&speaker, value) }
            case 8:
                if Self.is(key, "metadata") { Self.first(&metadata, value) }
            case 9:
                if Self.is(key, "tool_name") { Self.first(&toolName, value) }
                else if Self.is(key, "utterance") { Self.first(&utterance, value) }
                else if Self.is(key, "timestamp") { Self.first(&timestamp, value) }
            case 10:
                if Self.is(key, "parameters") { Self.first(&parameters, value) }
            case 11:
                if Self.is(key, "description") { Self.first(&description, value) }
            case 13:
                if Self.is(key, "end_timestamp") { Self.first(&endTimestamp, value) }
                else if Self.is(key, "end_offset_ms") { Self.first(&endOffsetMs, value) }
            case 15:
                if Self.is(key, "start_offset_ms") { Self.first(&startOffsetMs, value) }
            case 16:
                if Self.is(key, "filler_utterance") { Self.first(&fillerUtterance, value) }
            case 20:
                if Self.is(key, "simulation_result_id") { Self.first(&simulationResultID, value) }
            default:
                break
            }
        }
    }

    /// The key's bytes are exactly `name`'s (ASCII: no other spelling is the same string).
    private static func `is`(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        key.count == name.utf8CodeUnitCount && memcmp(key.baseAddress!, name.utf8Start, key.count) == 0
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
