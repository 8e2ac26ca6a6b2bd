import BluejayCalls
import BluejayJSON
import BluejayStore
import Foundation
import Hummingbird
import NIOCore

/// `/v1/...`: calls, the outbox and stored evaluations, as JSON for the CLI and operators.
struct AdminAPI: Sendable {
    let registry: CallRegistry
    let reader: SharedStoreReader
    let writer: StoreWriter
    let wakeDelivery: @Sendable () -> Void

    /// Live calls first, then the most recent ended ones.
    func calls(limit: Int = 200) -> [CallEntry] {
        registry.snapshot().sorted { a, b in
            if (a.state == .ended) != (b.state == .ended) { return a.state != .ended }
            return a.invitedAtMs > b.invitedAtMs
        }.prefix(limit).map { $0 }
    }

    func listCalls() -> Response {
        JSONResponse.object { w in
            w.key("calls")
            w.beginArray()
            for entry in calls() {
                w.beginObject()
                w.member("call_id", string: entry.callID)
                w.member("simulation_result_id", optional: entry.simulationResultID)
                w.member("state", string: entry.state.rawValue)
                w.member("invited_at", time: entry.invitedAtMs)
                w.member("answered_at", time: entry.answeredAtMs)
                w.member("ended_at", time: entry.endedAtMs)
                w.member("records", int: Int64(entry.recordCount))
                w.member("flush_state", string: entry.flushed ? "flushed" : "open")
                w.endObject()
            }
            w.endArray()
        }
    }

    func call(_ callID: String) throws -> Response {
        let entry = registry.entry(callID)
        let (stored, counts, outbox) = try reader.read { db in
            (try Ledger.call(callID, in: db), try Ledger.recordCounts(callID: callID, in: db), try Outbox.latest(callID: callID, in: db))
        }
        guard entry != nil || stored != nil else { return JSONResponse.error(.notFound, "not_found") }
        return JSONResponse.object { w in
            w.member("call_id", string: callID)
            w.member("simulation_result_id", optional: entry?.simulationResultID ?? stored?.simulationResultID)
            w.member("state", string: entry?.state.rawValue ?? stored?.state.rawValue ?? "ended")
            w.member("from", optional: stored?.fromHeader)
            w.member("to", optional: stored?.toHeader)
            w.member("invited_at", time: entry?.invitedAtMs ?? stored?.invitedAtMs)
            w.member("answered_at", time: entry?.answeredAtMs ?? stored?.answeredAtMs)
            w.member("ended_at", time: entry?.endedAtMs ?? stored?.endedAtMs)
            w.member("ended_by", optional: stored?.endedBy)
            w.member("end_reason", optional: stored?.endReason)
            w.member("flush_state", string: stored?.flushState.rawValue ?? (entry?.flushed == true ? "flushed" : "open"))
            w.key("records")
            w.beginObject()
            for kind in ["tool_call", "event", "transcript", "metadata", "tags", "sip_event"] { w.member(kind, int: Int64(counts[kind] ?? 0)) }
            w.member("total", int: Int64(counts.values.reduce(0, +)))
            w.endObject()
            if let outbox {
                w.key("outbox")
                w.beginObject()
                w.member("id", int: outbox.id)
                w.member("state", string: outbox.state)
                w.member("attempts", int: Int64(outbox.attempts))
                w.member("last_status", optionalInt: outbox.lastStatus.map(Int64.init))
                w.member("last_error", optional: outbox.lastError)
                w.endObject()
            } else {
                w.memberNull("outbox")
            }
        }
    }

    struct OutboxView {
        var pending: Int, retrying: Int, dead: Int, delivered: Int
        var fresh: [Outbox.Item], retryingItems: [Outbox.Item], deadItems: [Outbox.Item]
    }

    func outboxView(limit: Int = 200) throws -> OutboxView {
        try reader.read { db in
            OutboxView(pending: try Outbox.count(state: .pending, in: db), retrying: try Outbox.countRetrying(in: db),
                       dead: try Outbox.count(state: .dead, in: db), delivered: try Outbox.count(state: .delivered, in: db),
                       fresh: try Outbox.list(state: .pending, retrying: false, limit: limit, in: db),
                       retryingItems: try Outbox.list(state: .pending, retrying: true, limit: limit, in: db),
                       deadItems: try Outbox.list(state: .dead, limit: limit, in: db))
        }
    }

    func outbox() throws -> Response {
        let view = try outboxView()
        return JSONResponse.object { w in
            w.key("counts")
            w.beginObject()
            w.member("pending", int: Int64(view.pending))
            w.member("retrying", int: Int64(view.retrying))
            w.member("dead", int: Int64(view.dead))
            w.member("delivered", int: Int64(view.delivered))
            w.endObject()
            for (key, items) in [("pending", view.fresh), ("retrying", view.retryingItems), ("dead", view.deadItems)] {
                w.key(key)
                w.beginArray()
                for item in items {
                    w.beginObject()
                    w.member("id", int: item.id)
                    w.member("call_id", string: item.callID)
                    w.member("simulation_result_id", string: item.simulationResultID)
                    w.member("state", string: item.state)
                    w.member("attempts", int: Int64(item.attempts))
                    w.member("next_attempt_at", time: item.nextAttemptAtMs)
                    w.member("last_status", optionalInt: item.lastStatus.map(Int64.init))
                    w.member("last_error", optional: item.lastError)
                    w.endObject()
                }
                w.endArray()
            }
        }
    }

    func retry(_ id: Int64) async throws -> Response {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let before = try await writer.commit { db in try Outbox.retryNow(id, nowMs: now, in: db) }
        switch before {
        case nil: return JSONResponse.error(.notFound, "not_found")
        case .delivered?: return JSONResponse.error(.conflict, "already_delivered")
        default:
            wakeDelivery()
            return JSONResponse.object { w in
                w.member("id", int: id)
                w.member("state", string: "pending")
            }
        }
    }

    func recentResults(limit: Int = 50) throws -> [WebhookStore.Result] {
        try reader.read { db in try WebhookStore.recentResults(limit: limit, in: db) }
    }

    func results() throws -> Response {
        let results = try recentResults()
        return JSONResponse.object { w in
            w.key("results")
            w.beginArray()
            for r in results {
                w.beginObject()
                Self.write(r, into: &w)
                w.endObject()
            }
            w.endArray()
        }
    }

    func result(_ id: String) throws -> Response {
        let found: (WebhookStore.Result, [UInt8], [UInt8]?)? = try reader.read { db in
            guard let r = try WebhookStore.result(id, in: db), let body = try WebhookStore.eventBody(r.eventID, in: db) else { return nil }
            return (r, body, try Outbox.latestBody(simulationResultID: id, in: db))
        }
        guard let (result, event, sent) = found else { return JSONResponse.error(.notFound, "not_found") }
        let evaluatedToolCalls = (try? RawJSON.parse(event))?["tool_calls"].flatMap { $0.kind == .array ? $0.bytes : nil }
        let sentToolCalls = sent.flatMap { try? RawJSON.parse($0) }?["tool_calls"].flatMap { $0.kind == .array ? $0.bytes : nil }
        return JSONResponse.object { w in
            Self.write(result, into: &w)
            w.member("event", raw: event[...])
            w.key("tool_calls")
            w.beginObject()
            w.member("sent", raw: sentToolCalls ?? Array("[]".utf8)[...])
            w.member("evaluated", raw: evaluatedToolCalls ?? Array("[]".utf8)[...])
            w.endObject()
        }
    }

    private static func write(_ r: WebhookStore.Result, into w: inout JSONWriter) {
        w.member("id", string: r.id)
        w.member("kind", string: r.kind)
        w.member("status", optional: r.status)
        w.member("goal_success", optionalBool: r.goalSuccess)
        w.member("hallucination", optionalBool: r.hallucination)
        w.member("p50_agent_latency_ms", optionalDouble: r.p50AgentLatencyMs)
        w.member("p90_agent_latency_ms", optionalDouble: r.p90AgentLatencyMs)
        w.member("received_at", time: r.receivedAtMs)
    }
}
