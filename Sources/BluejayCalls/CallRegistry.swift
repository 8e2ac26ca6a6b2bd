import Foundation

/// What the rest of the sidecar may know about a call, shared across threads: the SIP side writes it,
/// the agent socket reads it to accept or refuse records.
public struct CallEntry: Equatable, Sendable {
    public enum State: String, Sendable { case ringing, active, ended }

    public var callID: String
    public var simulationResultID: String?
    public var state: State
    public var invitedAtMs: Int64
    public var answeredAtMs: Int64?
    public var endedAtMs: Int64?
    /// The call's data went to the outbox (or was skipped): later records are refused with `call_flushed`.
    public var flushed: Bool = false
    /// The agent said `end`: flush as soon as the call is over, without the linger.
    public var agentDone: Bool = false
    /// Records acknowledged for this call, and the bytes of the agent's among them (bounded per call).
    public var recordCount: Int = 0
    public var recordBytes: Int = 0
    /// False for a ledger opened by the agent's `start` (no SIP call behind it): the agent's `end` ends it.
    public var viaSIP: Bool = true

    public init(callID: String, simulationResultID: String?, state: State, invitedAtMs: Int64,
                answeredAtMs: Int64? = nil, endedAtMs: Int64? = nil) {
        self.callID = callID
        self.simulationResultID = simulationResultID
        self.state = state
        self.invitedAtMs = invitedAtMs
        self.answeredAtMs = answeredAtMs
        self.endedAtMs = endedAtMs
    }
}

/// Every live call, and recently flushed ones (so a late record gets `call_flushed`, not `unknown_call`).
public final class CallRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var byCallID: [String: CallEntry] = [:]
    private var bySimulationResultID: [String: String] = [:]
    /// Flushed calls in the order they were flushed, for bounded retention.
    private var flushedOrder: [String] = []
    private var flushedHead = 0
    /// How many flushed calls are remembered.
    public let flushedRetention: Int
    /// Calls flushed so far: unchanged between two reads means no call was flushed in between.
    private var flushes = 0

    public init(flushedRetention: Int = 100_000) {
        self.flushedRetention = flushedRetention
    }

    public func upsert(_ entry: CallEntry) {
        lock.lock(); defer { lock.unlock() }
        if entry.flushed && byCallID[entry.callID]?.flushed != true { flushes += 1 }
        byCallID[entry.callID] = entry
        if let sim = entry.simulationResultID { bySimulationResultID[sim] = entry.callID }
    }

    /// Applies `change` to the entry if present; returns the new entry.
    @discardableResult
    public func update(_ callID: String, _ change: (inout CallEntry) -> Void) -> CallEntry? {
        lock.lock(); defer { lock.unlock() }
        // One lookup: the entry is changed where it lies (SIP and agent paths update a call several times).
        guard let index = byCallID.index(forKey: callID) else { return nil }
        let before = byCallID.values[index]
        change(&byCallID.values[index])
        let entry = byCallID.values[index]
        // Only a newly named call takes its id over: an update of an older call with the same id (its BYE, a
        // record) must not point the id back at it.
        if let sim = entry.simulationResultID, sim != before.simulationResultID { bySimulationResultID[sim] = callID }
        if entry.flushed && !before.flushed {
            flushes += 1
            rememberFlushed(callID)
        }
        return entry
    }

    /// Forgets a call whose first write failed (a `start` the store refused): it never existed, so records
    /// naming it are refused instead of acknowledged into a ledger that nothing would flush. Counts as a flush for
    /// `flushCount`, so batches checked before it look again (`closedAmong`).
    public func remove(_ callID: String) {
        lock.lock(); defer { lock.unlock() }
        guard let entry = byCallID.removeValue(forKey: callID) else { return }
        if let sim = entry.simulationResultID, bySimulationResultID[sim] == callID { bySimulationResultID[sim] = nil }
        flushes += 1
    }

    public func entry(_ callID: String) -> CallEntry? {
        lock.lock(); defer { lock.unlock() }
        return byCallID[callID]
    }

    /// Calls flushed so far (a call counts once, when it is marked flushed): a batch of records checked
    /// unflushed after one reading needs no second check while the count has not moved.
    public var flushCount: Int {
        lock.lock(); defer { lock.unlock() }
        return flushes
    }

    /// The calls among `callIDs` that take no more records, flushed or forgotten (`remove`), in one lock for a
    /// batch of records (empty when none is, as usual).
    public func closedAmong(_ callIDs: some Sequence<String>) -> Set<String> {
        lock.lock(); defer { lock.unlock() }
        var out: Set<String> = []
        for id in callIDs where byCallID[id]?.flushed != false { out.insert(id) }
        return out
    }

    /// Counts one acknowledged record of `bytes` per element (a call repeats per record), in one lock for a batch.
    public func countRecords(_ records: some Sequence<(callID: String, bytes: Int)>) {
        lock.lock(); defer { lock.unlock() }
        for (id, bytes) in records {
            byCallID[id]?.recordCount += 1
            byCallID[id]?.recordBytes += bytes
        }
    }

    /// Finds a call by its Call-ID, else by its simulation result id (the latest call with it).
    public func resolve(callID: String?, simulationResultID: String?) -> CallEntry? {
        lock.lock(); defer { lock.unlock() }
        if let callID { return byCallID[callID] }
        if let sim = simulationResultID, let callID = bySimulationResultID[sim] { return byCallID[callID] }
        return nil
    }

    public var count: Int {
        lock.lock(); defer { lock.unlock() }
        return byCallID.count
    }

    /// Calls by state, for status and metrics.
    public func snapshot() -> [CallEntry] {
        lock.lock(); defer { lock.unlock() }
        return Array(byCallID.values)
    }

    /// Calls not ended nor flushed whose INVITE (or `start`) came before `cutoffMs`.
    public func overdue(invitedBeforeMs cutoffMs: Int64) -> [CallEntry] {
        lock.lock(); defer { lock.unlock() }
        return byCallID.values.filter { $0.state != .ended && !$0.flushed && $0.invitedAtMs <= cutoffMs }
    }

    private func rememberFlushed(_ callID: String) {
        flushedOrder.append(callID)
        while flushedOrder.count - flushedHead > flushedRetention {
            let old = flushedOrder[flushedHead]
            flushedHead += 1
            if let entry = byCallID[old], entry.flushed {
                byCallID[old] = nil
                if let sim = entry.simulationResultID, bySimulationResultID[sim] == old { bySimulationResultID[sim] = nil }
            }
        }
        if flushedHead > 4_096 && flushedHead * 2 > flushedOrder.count {
            flushedOrder.removeFirst(flushedHead)
            flushedHead = 0
        }
    }
}
