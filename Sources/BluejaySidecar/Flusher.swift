import BluejayCalls
import BluejayDelivery
import BluejayStore
import Foundation
import Logging
import Metrics
import NIOCore

/// Turns an ended call into one outbox row: waits the linger for late records, then, in one store
/// transaction, reads the call's records, builds the body, enqueues it and closes the call's ledger.
final class Flusher: @unchecked Sendable {
    /// On the loop, SIP-started flushes are committed there when the store is idle.
    private let committer: LoopCommitter
    private let registry: CallRegistry
    private let lingerLock = NSLock()
    private var _lingerMs: Int64
    /// Changeable live (SIGHUP reload).
    var lingerMs: Int64 {
        get { lingerLock.lock(); defer { lingerLock.unlock() }; return _lingerMs }
        set { lingerLock.lock(); _lingerMs = newValue; lingerLock.unlock() }
    }
    private let loop: EventLoop
    private let logger: Logger
    /// Set once the delivery worker exists; handed each body once the commit holding it is done.
    var onEnqueued: ((Outbox.Item) -> Void)?
    /// Looked up in the metrics backend once rather than per flush.
    private let flushLatency = Metrics.Timer(label: "bluejay_sidecar_flush_latency_seconds", preferredDisplayUnit: .seconds)
    /// Lingering calls; touched on `loop` only.
    private var lingering: [String: Scheduled<Void>] = [:]
    /// Calls whose flush the store refused (disk full, read-only): flushed again by `retryFailed()`. On `loop` only.
    private var failed: Set<String> = []
    /// Ends decided here (`end`), written in the flush's own transaction until one commits. On `loop` only.
    private var endings: [String: (atMs: Int64, by: String, reason: String)] = [:]

    /// Flushes every lingering call now (shutdown: nothing waits for a linger that will never end).
    func flushLingering() -> EventLoopFuture<Void> {
        loop.submit { [self] in
            for (callID, task) in lingering {
                task.cancel()
                flush(callID, done: nil)
            }
            lingering = [:]
        }
    }

    init(committer: LoopCommitter, registry: CallRegistry, lingerMs: Int64, loop: EventLoop, logger: Logger) {
        self.committer = committer
        self.registry = registry
        _lingerMs = lingerMs
        self.loop = loop
        self.logger = logger
    }

    /// The SIP side is done with the call. Called on the SIP loop (this one) right after the call's end was
    /// queued for the store, the flush (no linger) is queued behind it and shares its commit.
    func callEnded(_ callID: String) {
        if loop.inEventLoop { ended(callID) } else { loop.execute { [self] in ended(callID) } }
    }

    private func ended(_ callID: String) {
        if registry.entry(callID)?.agentDone == true || lingerMs <= 0 {
            flush(callID, done: nil)
        } else {
            lingering[callID] = loop.scheduleTask(in: .milliseconds(lingerMs)) { [self] in
                lingering[callID] = nil
                flush(callID, done: nil)
            }
        }
    }

    /// The agent said `end`: flush now if the call is over, else as soon as it is (no linger).
    func agentEnded(_ callID: String, done: @escaping (Error?) -> Void) {
        guard let entry = registry.update(callID, { $0.agentDone = true }) else { return done(nil) }
        // A ledger the agent opened: its `end` is the end of the call.
        if !entry.viaSIP && entry.state != .ended { return end(callID, by: "agent", reason: "agent_end", done: done) }
        guard entry.state == .ended else { return done(nil) }
        loop.execute { [self] in
            lingering.removeValue(forKey: callID)?.cancel()
            flush(callID, done: done)
        }
    }

    /// Ends a call no SIP side will end (a ledger the agent opened, a call the tracker no longer follows) and
    /// flushes it now, marked with who ended it and why. The end is written again before each flush retry.
    func end(_ callID: String, by: String, reason: String, done: @escaping (Error?) -> Void) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard registry.update(callID, { $0.agentDone = true; $0.state = .ended; $0.endedAtMs = now }) != nil else { return done(nil) }
        loop.execute { [self] in
            endings[callID] = (now, by, reason)
            lingering.removeValue(forKey: callID)?.cancel()
            flush(callID, done: done)
        }
    }

    /// Flushes `callID` if its ledger is still open; a second flush of the same call does nothing. On `loop`.
    func flush(_ callID: String, done: ((Error?) -> Void)?) {
        let registry = self.registry
        let logger = self.logger
        var closed = false
        var enqueued: Outbox.Item?
        loop.preconditionInEventLoop()
        let ending = endings[callID]
        let flushLatency = self.flushLatency
        // Synced when someone waits to be told (the agent's `end`); a flush the SIP side started is only written,
        // like the call's end ahead of it: a power loss before its sync leaves the call open, and it is ended and
        // flushed again after the restart (`--max-call-duration`, or Bluejay's `simulation_ended`).
        let durability: StoreWriter.Durability = done == nil ? .written : .onDisk
        committer.submit({ db in
            if let ending { try Ledger.end(callID: callID, atMs: ending.atMs, by: ending.by, reason: ending.reason, in: db) }
            guard let call = try Ledger.call(callID, in: db), call.flushState == .open else { return }
            let records = try Ledger.records(callID: callID, in: db)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let agentRecorded = records.contains { $0.kind != "sip_event" }
            if let sim = call.simulationResultID, call.answeredAtMs != nil || agentRecorded {
                let body = FlushBody.build(call: call, simulationResultID: sim, records: records)
                enqueued = try Outbox.enqueue(callID: callID, simulationResultID: sim, body: body, nowMs: now, in: db)
                try Ledger.setFlushState(.flushed, callID: callID, atMs: now, in: db)
                logger.debug("call flushed to outbox", metadata: ["call_id": "\(callID)", "simulation_result_id": "\(sim)",
                                                                 "records": "\(records.count)", "bytes": "\(body.count)"])
                if let ended = call.endedAtMs {
                    flushLatency.recordMilliseconds(max(0, now - ended))
                }
            } else {
                try Ledger.setFlushState(.skipped, callID: callID, atMs: now, in: db)
                let why = call.simulationResultID == nil
                    ? "no X-Simulation-Result-Id and the agent named none" : "never answered and nothing recorded"
                logger.info("call not sent to Bluejay: \(why)", metadata: ["call_id": "\(callID)", "records": "\(records.count)"])
            }
            // Inside the transaction, so a record queued behind this flush sees the call closed.
            registry.update(callID) { if !$0.flushed { $0.flushed = true; closed = true } }
        }, durability: durability, completion: { [self] error in
            if let error {
                // The transaction rolled back: the ledger is open again, and the flush is tried again.
                if closed { registry.update(callID) { $0.flushed = false } }
                logger.error("flush failed", metadata: ["call_id": "\(callID)", "error": "\(error)"])
                if case .unavailable? = error as? StoreError { loop.execute { [self] in failed.insert(callID) } }
            } else {
                if ending != nil { loop.execute { [self] in endings[callID] = nil } }
                if let enqueued { onEnqueued?(enqueued) }
            }
            done?(error)
        })
    }

    /// Flushes again the calls the store refused to flush; about once a second, on `loop`.
    func retryFailed() {
        loop.preconditionInEventLoop()
        guard !failed.isEmpty else { return }
        let calls = failed
        failed = []
        for callID in calls { flush(callID, done: nil) }
    }
}
