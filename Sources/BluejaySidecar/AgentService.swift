import BluejayAgentProtocol
import BluejayCalls
import BluejayStore
import Foundation
import Logging
import Metrics

/// Serves the agent's requests: resolves the call, makes records durable, answers once per line.
final class AgentService: @unchecked Sendable {
    private let registry: CallRegistry
    private let writer: StoreWriter
    private let flusher: Flusher
    private let logger: Logger
    /// Acknowledged records by kind, looked up in the metrics backend once rather than per record.
    private let recordCounters: [AgentRecordKind: Counter]

    init(registry: CallRegistry, writer: StoreWriter, flusher: Flusher, logger: Logger) {
        self.registry = registry
        self.writer = writer
        self.flusher = flusher
        self.logger = logger
        recordCounters = Dictionary(uniqueKeysWithValues: AgentRecordKind.allCases.map {
            ($0, Counter(label: "bluejay_sidecar_ledger_records_total", dimensions: [("kind", $0.rawValue)]))
        })
    }

    /// What one line asks for: a record the connection batches with the others of its read, an answer
    /// needing no store (an error, a lookup), or a request the store or the flusher serves on its own.
    enum Step {
        case append(AgentRecordBatch.Item)
        case answer([UInt8])
        case request(AgentRequest)
    }

    func step(_ line: ArraySlice<UInt8>, arrivalEpochMs now: Int64) -> Step {
        switch AgentLine.decode(line, arrivalEpochMs: now) {
        case .failure(let error):
            return .answer(AgentReply.error(error))
        case .success(.lookup(let ref)):
            return .answer(lookupReply(ref))
        case .success(.record(let record)):
            guard let entry = resolve(record.call) else { return .answer(AgentReply.error(Self.unknownCall(record.call))) }
            guard !entry.flushed else { return .answer(AgentReply.error(Self.flushed(entry.callID))) }
            guard entry.recordBytes + record.fragment.count <= Self.maxCallRecordBytes else {
                return .answer(AgentReply.error(Self.tooLarge(entry.callID)))
            }
            // The first record naming the call's Bluejay id also writes it to the call: not a plain append.
            if entry.simulationResultID == nil && record.call.simulationResultID != nil { return .request(.record(record)) }
            return .append(AgentRecordBatch.Item(callID: entry.callID, kind: record.kind, record: Self.stored(record)))
        case .success(let request):
            return .request(request)
        }
    }

    /// Serves a request `step` left to the store or the flusher; `reply` is called exactly once, from any thread.
    func handle(_ request: AgentRequest, arrivalEpochMs now: Int64, reply: @escaping ([UInt8]) -> Void) {
        switch request {
        case .lookup(let ref):
            reply(lookupReply(ref))
        case .start(let ref):
            start(ref, now: now, reply: reply)
        case .end(let ref):
            guard let entry = resolve(ref) else { return reply(AgentReply.error(Self.unknownCall(ref))) }
            guard !entry.flushed else { return reply(AgentReply.error(Self.flushed(entry.callID))) }
            flusher.agentEnded(entry.callID) { error in reply(error.map(Self.reply(for:)) ?? AgentReply.ok) }
        case .record(let record):
            guard let entry = resolve(record.call) else { return reply(AgentReply.error(Self.unknownCall(record.call))) }
            guard !entry.flushed else { return reply(AgentReply.error(Self.flushed(entry.callID))) }
            append(record, to: entry, reply: reply)
        }
    }

    private func lookupReply(_ ref: CallReference) -> [UInt8] {
        guard let entry = resolve(ref) else { return AgentReply.error(Self.unknownCall(ref)) }
        return AgentReply.lookup(callID: entry.callID, simulationResultID: entry.simulationResultID,
                                 state: entry.state.rawValue, startedAtEpochMs: entry.invitedAtMs)
    }

    /// The registry's flush count, for `AgentRecordBatch.begin`.
    var flushCount: Int { registry.flushCount }

    /// Writes a batch of records as one store operation; `done` is called once, from the writer thread, after
    /// the commit that holds them (or its failure), with one reply per record in order.
    func submit(_ batch: AgentRecordBatch, done: @escaping (AgentBatchResult) -> Void) {
        let registry = self.registry
        let items = batch.items
        let checkedAt = batch.flushCount
        let failures = BatchFailures()
        writer.submit({ db in
            // Checked again on the writer thread: a flush committed ahead of these records closed the ledger, or
            // a `start` that failed was forgotten (only if either happened since the records were found open).
            let closed = registry.flushCount == checkedAt ? [] : registry.closedAmong(items.lazy.map(\.callID))
            let appender = try Ledger.appender(in: db)
            for i in items.indices {
                if !closed.isEmpty && closed.contains(items[i].callID) {
                    failures.set(i, Self.closed(items[i].callID, registry), count: items.count)
                    continue
                }
                do {
                    try appender.append(items[i].record, callID: items[i].callID)
                } catch let error as SQLiteError where error.isUnavailable {
                    throw error // the transaction is lost: every record fails
                } catch {
                    failures.set(i, error, count: items.count) // SQLite undid this one statement alone
                }
            }
        }, singleStatement: true, weight: items.count, completion: { error in
            if let error {
                return done(AgentBatchResult(replies: [[UInt8]](repeating: Self.reply(for: error), count: items.count), kept: []))
            }
            guard let errors = failures.errors else {
                return done(AgentBatchResult(replies: [[UInt8]](repeating: AgentReply.ok, count: items.count), kept: items))
            }
            done(AgentBatchResult(replies: errors.map { $0.map(Self.reply(for:)) ?? AgentReply.ok },
                                  kept: items.indices.filter { errors[$0] == nil }.map { items[$0] }))
        })
    }

    /// Counts a committed batch's kept records (per call and in the metrics); on the connection's loop, before
    /// its replies are written, so the store writer's thread spends its time on the store.
    func account(_ result: AgentBatchResult) {
        guard !result.kept.isEmpty else { return }
        let kept = result.kept
        registry.countRecords(kept.indices.lazy.map { (kept[$0].callID, kept[$0].record.fragment.count) })
        var byKind: [AgentRecordKind: Int64] = [:]
        for i in kept.indices { byKind[kept[i].kind, default: 0] += 1 }
        for (kind, count) in byKind { recordCounters[kind]?.increment(by: count) }
    }

    static func stored(_ record: AgentRecord) -> StoredRecord {
        StoredRecord(kind: record.kind.rawValue, startIsOffset: record.start.isOffset, startValue: record.start.value,
                     endIsOffset: record.end?.isOffset, endValue: record.end?.value, fragment: record.fragment)
    }

    /// Opens a ledger with no SIP call behind it; offsets count from now. Starting an open ledger again
    /// answers it again (idempotent), so an agent may retry `start` after a reconnect.
    private func start(_ ref: CallReference, now: Int64, reply: @escaping ([UInt8]) -> Void) {
        let sim = ref.simulationResultID ?? ""
        if let existing = resolve(ref), !existing.flushed {
            return reply(AgentReply.lookup(callID: existing.callID, simulationResultID: existing.simulationResultID,
                                           state: existing.state.rawValue, startedAtEpochMs: existing.invitedAtMs))
        }
        let callID = ref.callID ?? "ledger-\(sim)-\(UInt32.random(in: 0...UInt32.max))"
        var entry = CallEntry(callID: callID, simulationResultID: sim, state: .active, invitedAtMs: now, answeredAtMs: now)
        entry.viaSIP = false
        // Registered before the commit: a record pipelined right behind `start` resolves, and its write is
        // queued behind this one.
        registry.upsert(entry)
        let stored = StoredCall(callID: callID, simulationResultID: sim, fromHeader: "", toHeader: "", localTag: "", remoteTag: nil,
                                invitedAtMs: now, answeredAtMs: now, state: .active, sipHeadersJSON: Array("{}".utf8))
        logger.info("ledger started without SIP", metadata: ["call_id": "\(callID)", "simulation_result_id": "\(sim)"])
        // If the write fails the ledger never was: forgotten at once, so records queued behind it (even in the
        // same commit) are refused rather than acknowledged into a ledger nothing would flush; a `start` again
        // opens it.
        writer.submit({ [registry] db in
            do { try Ledger.upsert(stored, in: db) } catch { registry.remove(callID); throw error }
        }, completion: { [registry] error in
            if let error {
                registry.remove(callID) // the commit failed
                return reply(Self.reply(for: error))
            }
            reply(AgentReply.lookup(callID: callID, simulationResultID: sim, state: "active", startedAtEpochMs: now))
        })
    }

    private func append(_ record: AgentRecord, to entry: CallEntry, reply: @escaping ([UInt8]) -> Void) {
        let callID = entry.callID
        let registry = self.registry
        let counter = recordCounters[record.kind]
        let naming = entry.simulationResultID == nil ? record.call.simulationResultID : nil
        let stored = Self.stored(record)
        writer.submit({ db in
            // Checked again on the writer thread: a flush committed ahead of this record closed the ledger, or a
            // failed `start` was forgotten.
            guard registry.entry(callID)?.flushed == false else { throw Self.closed(callID, registry) }
            if let naming { try Ledger.setSimulationResultID(naming, callID: callID, in: db) }
            try Ledger.append(stored, callID: callID, in: db)
        }, singleStatement: naming == nil, completion: { error in
            if let error { return reply(Self.reply(for: error)) }
            // Named only once committed: after a failed commit the next record names the call again.
            registry.update(callID) {
                $0.recordCount += 1
                $0.recordBytes += stored.fragment.count
                if let naming, $0.simulationResultID == nil { $0.simulationResultID = naming }
            }
            counter?.increment()
            reply(AgentReply.ok)
        })
    }

    private func resolve(_ ref: CallReference) -> CallEntry? {
        registry.resolve(callID: ref.callID, simulationResultID: ref.simulationResultID)
    }

    private static func unknownCall(_ ref: CallReference) -> AgentProtocolError {
        let name = ref.callID.map { "call_id \"\(Self.clip($0))\"" } ?? "simulation_result_id \"\(Self.clip(ref.simulationResultID ?? ""))\""
        return AgentProtocolError(code: .unknownCall, message: "no call with \(name) is known to the sidecar")
    }

    /// Bytes of records one call may hold: its body is built in memory, stored as one row (SQLite holds at most
    /// 1 GB) and posted in one request. Records in flight when the bound is reached may pass it by their size.
    static let maxCallRecordBytes = 64 << 20

    private static func tooLarge(_ callID: String) -> AgentProtocolError {
        AgentProtocolError(code: .callTooLarge, message: "call \"\(clip(callID))\" already holds \(maxCallRecordBytes >> 20) MiB of records; the record was not kept")
    }

    /// Why a call takes no more records: flushed, or forgotten (`CallRegistry.remove`).
    private static func closed(_ callID: String, _ registry: CallRegistry) -> AgentProtocolError {
        guard registry.entry(callID) != nil else { return unknownCall(CallReference(callID: callID, simulationResultID: nil)) }
        return flushed(callID)
    }

    private static func flushed(_ callID: String) -> AgentProtocolError {
        AgentProtocolError(code: .callFlushed, message: "call \"\(clip(callID))\" was already flushed to Bluejay; the record was not kept")
    }

    private static func clip(_ s: String) -> String { s.count > 80 ? String(s.prefix(80)) + "…" : s }

    static func reply(for error: Error) -> [UInt8] {
        switch error {
        case let e as AgentProtocolError:
            return AgentReply.error(e)
        case let e as StoreError:
            return AgentReply.error(AgentProtocolError(code: .storeUnavailable, message: "the sidecar cannot store records right now (\(e)); the record was not kept"))
        case let e as SQLiteError where e.isUnavailable:
            return AgentReply.error(AgentProtocolError(code: .storeUnavailable, message: "the sidecar cannot store records right now; the record was not kept"))
        default:
            return AgentReply.error(AgentProtocolError(code: .internalError, message: "the record was not kept: \(error)"))
        }
    }
}

/// A committed (or failed) batch: one reply per record in order, and the records kept.
struct AgentBatchResult {
    let replies: [[UInt8]]
    fileprivate let kept: [AgentRecordBatch.Item]
}

/// Which records of a batch failed; allocated only when one does. Touched on the writer thread only.
private final class BatchFailures: @unchecked Sendable {
    private(set) var errors: [Error?]?

    func set(_ index: Int, _ error: Error, count: Int) {
        if errors == nil { errors = [Error?](repeating: nil, count: count) }
        errors![index] = error
    }
}

extension RecordTime {
    var isOffset: Bool { if case .offsetMs = self { return true } else { return false } }
    var value: Int64 {
        switch self {
        case .offsetMs(let v), .epochMs(let v): return v
        }
    }
}
