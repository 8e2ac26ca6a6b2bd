import BluejayAgentProtocol
import BluejayJSON
import FuzzSupport

/// Bytes from the agent socket, cut into lines as `AgentConnectionHandler` cuts them; each line decoded and
/// answered as `AgentService` does. Every reply must be one JSON object on one line, and every record must
/// splice into valid JSON for the flush body.
func fuzzAgentLine(_ bytes: [UInt8]) {
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        switch AgentLine.decode(line, arrivalEpochMs: 1_700_000_000_000) {
        case .failure(let error):
            let reply = replyObject(AgentReply.error(error))
            invariant(reply?["ok"]?.bool == false, "an error reply without ok:false")
            invariant(reply?["error"]?.string == error.code.rawValue, "an error reply lost its code")
            invariant(reply?["message"]?.string == error.message, "an error reply changed its message")
        case .success(.start(let call)), .success(.end(let call)), .success(.lookup(let call)):
            lookupReply(call)
        case .success(.record(let record)):
            splice(record)
            lookupReply(record.call)
        }
    }
}

/// A reply line parsed back: exactly one trailing newline, nothing else raw, a JSON object.
private func replyObject(_ reply: [UInt8]) -> RawJSON? {
    invariant(reply.last == UInt8(ascii: "\n") && reply.filter({ $0 == UInt8(ascii: "\n") }).count == 1,
              "a reply is not exactly one line")
    let json = try? RawJSON.parse(reply.dropLast())
    invariant(json?.kind == .object, "a reply is not a JSON object: \(String(decoding: reply, as: UTF8.self))")
    return json
}

/// The agent's own identifiers echoed back (the sidecar answers lookups with what it stored).
private func lookupReply(_ call: CallReference) {
    let callID = call.callID ?? "generated"
    let reply = replyObject(AgentReply.lookup(callID: callID, simulationResultID: call.simulationResultID,
                                              state: "active", startedAtEpochMs: 1_700_000_000_000))
    invariant(reply?["call_id"]?.string == callID, "a lookup reply changed the call id")
    invariant(reply?["simulation_result_id"]?.string == call.simulationResultID, "a lookup reply changed the simulation result id")
}

/// The record as the flush body will hold it.
private func splice(_ record: AgentRecord) {
    for time in [record.start] + (record.end.map { [$0] } ?? []) {
        if case .epochMs(let ms) = time, ms >= 0, ms < 253_402_300_800_000 { // years 1970-9999
            invariant(RFC3339.epochMs(RFC3339.format(epochMs: ms)) == ms, "RFC 3339 round trip of \(ms)")
        }
    }
    let fragment = try? RawJSON.parse(record.fragment)
    switch record.kind {
    case .metadata:
        invariant(fragment?.kind == .object, "a metadata record is not an object")
    case .tags:
        invariant(fragment?.elements?.allSatisfy({ $0.kind == .string }) ?? false, "a tags record is not an array of strings")
    case .toolCall, .event, .transcript:
        let start = RecordSplice.offsetMs(record.start, answeredAtEpochMs: 1_699_999_990_000)
        let end = record.end.map { RecordSplice.offsetMs($0, answeredAtEpochMs: 1_699_999_990_000) }
        invariant(start >= 0 && (end ?? 0) >= 0, "a negative offset")
        let object = RecordSplice.object(startOffsetMs: start, endOffsetMs: end, fragment: record.fragment)
        let json = try? RawJSON.parse(object)
        invariant(json?.kind == .object, "a spliced record is not a JSON object: \(String(decoding: object, as: UTF8.self))")
        invariant(json?["start_offset_ms"]?.int64 == start, "a spliced record lost its start offset")
    }
}
