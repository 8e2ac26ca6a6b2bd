import BluejayAgentProtocol
import BluejayJSON
import BluejayStore

/// Builds the one `POST /v1/update-simulation-result` body of a call from its stored records, splicing the
/// agent's JSON in as it was written: no decode/encode round-trip, so values reach Bluejay byte for byte.
public enum FlushBody {
    /// Offsets count from the answer (the INVITE's 2xx); a call never answered counts from its INVITE.
    public static func build(call: StoredCall, simulationResultID: String, records: [StoredRecord]) -> [UInt8] {
        let zero = call.answeredAtMs ?? call.invitedAtMs
        var toolCalls: [[UInt8]] = []
        var events: [[UInt8]] = []
        var transcript: [[UInt8]] = []
        var metadata: [RawJSON] = []
        var tags: [String] = []
        var seenTags = Set<String>()

        for record in records {
            let start = RecordSplice.offsetMs(time(record.startIsOffset, record.startValue), answeredAtEpochMs: zero)
            let end = record.endValue.map { RecordSplice.offsetMs(time(record.endIsOffset ?? true, $0), answeredAtEpochMs: zero) }
            switch record.kind {
            case AgentRecordKind.toolCall.rawValue:
                toolCalls.append(RecordSplice.object(startOffsetMs: start, endOffsetMs: nil, fragment: record.fragment))
            case AgentRecordKind.event.rawValue, "sip_event":
                events.append(RecordSplice.object(startOffsetMs: start, endOffsetMs: end, fragment: record.fragment))
            case AgentRecordKind.transcript.rawValue:
                transcript.append(RecordSplice.object(startOffsetMs: start, endOffsetMs: max(end ?? start, start), fragment: record.fragment))
            case AgentRecordKind.metadata.rawValue:
                if let object = try? RawJSON.parse(record.fragment), object.kind == .object { metadata.append(object) }
            case AgentRecordKind.tags.rawValue:
                for element in (try? RawJSON.parse(record.fragment))?.elements ?? [] {
                    if let tag = element.string, seenTags.insert(tag).inserted { tags.append(tag) }
                }
            default:
                continue
            }
        }
        let own = sidecarMetadata(call)

        var w = JSONWriter(capacity: 512 + records.reduce(0) { $0 + $1.fragment.count + 32 })
        w.beginObject()
        w.member("simulation_result_id", string: simulationResultID)
        w.key("tool_calls"); array(toolCalls, into: &w)
        w.key("events"); array(events, into: &w)
        if !transcript.isEmpty { w.key("recorded_transcript"); array(transcript, into: &w) }
        if !tags.isEmpty {
            w.key("tags")
            w.beginArray()
            for tag in tags { w.string(tag) }
            w.endArray()
        }
        if metadata.isEmpty {
            w.member("metadata", raw: own[...]) // nothing to merge: no parse and rewrite of what was just written
        } else {
            // The sidecar's own facts go last, so they win over an agent key of the same name.
            if let own = try? RawJSON.parse(own) { metadata.append(own) }
            w.member("metadata", raw: JSONObjectMerge.merge(metadata)[...])
        }
        w.endObject()
        return w.bytes
    }

    static func sidecarMetadata(_ call: StoredCall) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        if call.localTag.isEmpty {
            // A ledger the agent opened with `start`: there is no SIP call to describe.
            w.member("ledger_id", string: call.callID)
        } else {
            w.member("sip_call_id", string: call.callID)
            w.member("from", string: call.fromHeader)
            w.member("to", string: call.toHeader)
        }
        optionalTime("invited_at", call.invitedAtMs, &w)
        optionalTime("answered_at", call.answeredAtMs, &w)
        optionalTime("ended_at", call.endedAtMs, &w)
        if let answered = call.answeredAtMs, let ended = call.endedAtMs {
            w.member("duration_ms", int: max(0, ended - answered))
        } else {
            w.member("duration_ms", int: 0)
        }
        if let by = call.endedBy { w.member("ended_by", string: by) } else { w.memberNull("ended_by") }
        if let reason = call.endReason { w.member("end_reason", string: reason) }
        if !call.localTag.isEmpty {
            w.member("sip_headers", raw: (call.sipHeadersJSON.isEmpty ? Array("{}".utf8) : call.sipHeadersJSON)[...])
        }
        w.endObject()
        return w.bytes
    }

    private static func optionalTime(_ key: String, _ ms: Int64?, _ w: inout JSONWriter) {
        if let ms { w.member(key, string: RFC3339.format(epochMs: ms)) } else { w.memberNull(key) }
    }

    private static func time(_ isOffset: Bool, _ value: Int64) -> RecordTime {
        isOffset ? .offsetMs(value) : .epochMs(value)
    }

    private static func array(_ items: [[UInt8]], into w: inout JSONWriter) {
        w.beginArray()
        for item in items { w.raw(item[...]) }
        w.endArray()
    }
}
