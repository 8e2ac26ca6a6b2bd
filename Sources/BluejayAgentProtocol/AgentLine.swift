import BluejayJSON

/// Decodes one line of the agent socket protocol (UTF-8 NDJSON, one request per line).
///
/// The line is validated once; agent values are copied into the record's fragment as raw bytes,
/// never re-encoded, so Bluejay sees them exactly as the agent wrote them.
public enum AgentLine {
    /// Longest accepted line; longer lines get `line_too_long` rather than unbounded buffering.
    public static let maxLineBytes = 1 << 20

    /// `line` excludes the "\n"; a trailing "\r" is tolerated. `arrivalEpochMs` stamps records
    /// that carry no time of their own.
    public static func decode(_ line: ArraySlice<UInt8>, arrivalEpochMs: Int64) -> Result<AgentRequest, AgentProtocolError> {
        Result { () throws(AgentProtocolError) in try decodeThrowing(line, arrivalEpochMs) }
    }

    private static func decodeThrowing(_ line: ArraySlice<UInt8>, _ arrival: Int64) throws(AgentProtocolError) -> AgentRequest {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        guard line.count <= maxLineBytes else {
            throw AgentProtocolError(code: .lineTooLong, message: "line is \(line.count) bytes; the limit is \(maxLineBytes)")
        }
        let json: RawJSON
        do {
            json = try RawJSON.parse(line)
        } catch {
            throw AgentProtocolError(code: .badJSON, message: error == .empty ? "empty line" : "\(error)")
        }
        guard json.kind == .object else {
            throw AgentProtocolError(code: .badJSON, message: "a request must be a JSON object, got \(AgentProtocolError.excerpt(json.bytes))")
        }
        let f = RequestFields(json)
        let typeValue = try RequestFields.requiredString(f.type, "type")
        let type = typeValue.string ?? ""
        let kind = AgentRecordKind(rawValue: type)
        guard kind != nil || type == "end" || type == "lookup" || type == "start" else {
            throw AgentProtocolError(code: .unknownType, message: "unknown type \(AgentProtocolError.excerpt(typeValue.bytes)); "
                + "expected tool_call, event, transcript, metadata, tags, start, end or lookup")
        }
        let call = try f.callReference()
        if type == "start" {
            guard call.simulationResultID != nil else {
                throw AgentProtocolError(code: .missingField, message: "missing field \"simulation_result_id\": start opens the ledger of a simulation result")
            }
            return .start(call)
        }
        guard let kind else { return type == "end" ? .end(call) : .lookup(call) }
        let start = try RequestFields.time(offset: f.startOffsetMs, "start_offset_ms", timestamp: f.timestamp, "timestamp")
            ?? .epochMs(arrival)
        var end: RecordTime?
        var out = FragmentBuilder(capacity: line.count)
        switch kind {
        case .toolCall:
            // Schema shape (`name`) first; the prose guide's `tool_name` when `name` is absent or null.
            let nameGiven = f.name.map { !$0.isNull } ?? false
            let useName = nameGiven || f.toolName == nil
            let name = try RequestFields.requiredString(useName ? f.name : f.toolName, useName ? "name" : "tool_name",
                                                        label: "\"name\" (or \"tool_name\")")
            out.member("name", raw: name)
            out.member("description", raw: try RequestFields.optionalString(f.description, "description"))
            out.member("parameters", raw: try RequestFields.optionalObject(f.parameters, "parameters"))
            out.member("output", raw: f.output ?? f.result) // any JSON, null included
        case .event:
            end = try endTime(f)
            out.member("title", raw: try RequestFields.requiredString(f.title, "title"))
            out.member("description", raw: try RequestFields.optionalString(f.description, "description"))
            out.member("tags", raw: try RequestFields.optionalStringArray(f.tags, "tags"))
            out.member("metadata", raw: try RequestFields.optionalObject(f.metadata, "metadata"))
        case .transcript:
            let speaker = try RequestFields.requiredString(f.speaker, "speaker")
            switch speaker.string?.uppercased() {
            case "AGENT": out.member("speaker", raw: agentSpeaker[...])
            case "USER": out.member("speaker", raw: userSpeaker[...])
            default: throw .badValue("speaker", "\"AGENT\" or \"USER\"", got: speaker)
            }
            out.member("utterance", raw: try RequestFields.requiredString(f.utterance, "utterance"))
            out.member("filler_utterance", raw: try RequestFields.optionalBool(f.fillerUtterance, "filler_utterance"))
            end = try endTime(f) ?? start
        case .metadata:
            guard let m = f.metadata else { throw .missing("\"metadata\"") }
            guard m.kind == .object else { throw .badValue("metadata", "an object", got: m) }
            return .record(AgentRecord(kind: kind, call: call, start: start, end: nil, fragment: Array(m.bytes)))
        case .tags:
            guard let t = f.tags else { throw .missing("\"tags\"") }
            guard t.kind == .array else { throw .badValue("tags", "an array of strings", got: t) }
            _ = try RequestFields.optionalStringArray(t, "tags")
            return .record(AgentRecord(kind: kind, call: call, start: start, end: nil, fragment: Array(t.bytes)))
        }
        if let end, end.isBefore(start) {
            throw AgentProtocolError(code: .badValue, message: "end time is before start time")
        }
        return .record(AgentRecord(kind: kind, call: call, start: start, end: end, fragment: out.bytes))
    }

    private static func endTime(_ f: RequestFields) throws(AgentProtocolError) -> RecordTime? {
        try RequestFields.time(offset: f.endOffsetMs, "end_offset_ms", timestamp: f.endTimestamp, "end_timestamp")
    }

    private static let agentSpeaker: [UInt8] = Array(#""AGENT""#.utf8)
    private static let userSpeaker: [UInt8] = Array(#""USER""#.utf8)
}

private extension RecordTime {
    /// Only comparable when both are the same flavour; mixed pairs are resolved at flush time.
    func isBefore(_ other: RecordTime) -> Bool {
        switch (self, other) {
        case let (.epochMs(a), .epochMs(b)), let (.offsetMs(a), .offsetMs(b)): return a < b
        default: return false
        }
    }
}
