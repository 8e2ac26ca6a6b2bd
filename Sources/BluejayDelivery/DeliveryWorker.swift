import BluejayStore
import Foundation
import Logging
import Metrics

/// Where the outbox's bodies go: Bluejay's API, or files (dry-run, the embedded default without an API key).
public enum DeliveryTarget {
    case bluejay(BluejayClient)
    case dryRun(DryRunSink)
}

/// Drains the durable outbox: posts the bodies the flush hands over and the due rows its thread finds (retries,
/// bodies that found no free slot, rows left by a restart), and records each outcome through the store writer.
/// Transfers run concurrently inside the client, so a hanging server holds only its own slots.
public final class DeliveryWorker: @unchecked Sendable {
    private let writer: StoreWriter
    private let storePath: String
    private let target: DeliveryTarget
    private var _policy: RetryPolicy
    /// Changeable live (SIGHUP reload).
    public var policy: RetryPolicy {
        get { condition.lock(); defer { condition.unlock() }; return _policy }
        set { condition.lock(); _policy = newValue; condition.unlock() }
    }
    /// Shutting down: every pending item gets one more attempt now, due or not.
    private var lastTry = false
    private var lastTried = Set<Int64>()
    private let maxInFlight: Int
    private let logger: Logger
    private let condition = NSCondition()
    /// Items being sent or whose outcome is not committed yet: never picked again meanwhile.
    private var inFlight = Set<Int64>()
    /// Transfers running: what `maxInFlight` bounds. A finished transfer frees its slot at once, while its
    /// outcome waits for the store's next commit, so deliveries never wait on the disk.
    private var transfers = 0
    private var woken = false
    /// The last look at the outbox filled every free slot: a slot freed may have a due row waiting for it.
    /// Otherwise a finished transfer does not wake the worker.
    private var saturated = false
    /// The outbox thread is between its snapshot of `inFlight` and the end of its sends: ids whose outcome was
    /// committed meanwhile are kept in `doneDuringScan`, so a row its read still saw as pending is not sent again.
    private var scanning = false
    private var doneDuringScan = Set<Int64>()
    /// Outcomes the store refused to commit (disk full, read-only): their rows stay in flight, so a body
    /// Bluejay already has is not posted again and a retry keeps its back-off, and the outbox thread submits
    /// them again at each pass until they are kept.
    private var unrecorded: [(item: Outbox.Item, outcome: DeliveryOutcome, operation: StoreWriter.Operation)] = []
    private var stopping = false
    private var thread: Thread?
    private var finished = false

    /// Attempts by result, looked up in the metrics backend once rather than per delivery.
    private let attemptsDelivered = Counter(label: "bluejay_sidecar_delivery_attempts_total", dimensions: [("result", "delivered")])
    private let attemptsRetried = Counter(label: "bluejay_sidecar_delivery_attempts_total", dimensions: [("result", "retry")])
    private let attemptsDead = Counter(label: "bluejay_sidecar_delivery_attempts_total", dimensions: [("result", "dead")])

    /// Outcome counters: for metrics and tests. Outcomes arrive on the worker thread (dry-run) and on the
    /// client's transfer thread, so the counts are kept under `condition`.
    public var delivered: Int { counted { $0.delivered } }
    public var retried: Int { counted { $0.retried } }
    public var dead: Int { counted { $0.dead } }
    private var outcomes = (delivered: 0, retried: 0, dead: 0)

    public init(writer: StoreWriter, storePath: String, target: DeliveryTarget, policy: RetryPolicy, maxInFlight: Int = 16, logger: Logger) {
        self.writer = writer
        self.storePath = storePath
        self.target = target
        _policy = policy
        self.maxInFlight = maxInFlight
        self.logger = logger
    }

    public func start() throws {
        let reader = try StoreReader(path: storePath)
        // The transfers run on the client's "bj-delivery".
        let thread = DedicatedThread.make(name: "bj-outbox") { [self] in run(reader) }
        self.thread = thread
        thread.start()
    }

    /// A body the flush just committed to the outbox: posted from here when a transfer slot is free, so a
    /// call's delivery costs neither a wake-up of the outbox thread nor a read of the outbox. Otherwise (every slot
    /// busy, dry-run, shutting down) the outbox thread picks it up as it does every due row.
    public func enqueued(_ item: Outbox.Item) {
        condition.lock()
        guard case .bluejay(let client) = target, !stopping, !lastTry, transfers < maxInFlight, !inFlight.contains(item.id) else {
            if transfers >= maxInFlight { saturated = true }
            woken = true
            condition.signal()
            condition.unlock()
            return
        }
        inFlight.insert(item.id)
        transfers += 1
        condition.unlock()
        client.post(body: item.body) { [self] outcome in record(item, outcome) }
    }

    /// Something was enqueued or finished: look at the outbox again now.
    public func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    /// Gives in-flight transfers up to `graceMs` to finish (their outcome is recorded), then stops.
    public func stop(graceMs: Int) {
        // A last try for everything pending, within the grace period.
        condition.lock()
        lastTry = true
        woken = true
        condition.signal()
        condition.unlock()
        let lastTryDeadline = Date().addingTimeInterval(Double(graceMs) / 1000)
        while Date() < lastTryDeadline {
            condition.lock()
            let busy = !inFlight.isEmpty || woken
            condition.unlock()
            if !busy { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        if case .bluejay(let client) = target { client.shutdown(graceMs: graceMs) }
        condition.lock()
        let deadline = Date().addingTimeInterval(Double(graceMs) / 1000 + 1)
        while !finished && Date() < deadline { _ = condition.wait(until: deadline) }
        condition.unlock()
    }

    private func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private func run(_ reader: StoreReader) {
        while true {
            condition.lock()
            if stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let capacity = maxInFlight - transfers
            let busy = inFlight.union(lastTried)
            let dueAll = lastTry
            woken = false
            if capacity <= 0 { saturated = true }
            scanning = true
            doneDuringScan.removeAll(keepingCapacity: true)
            let refused = unrecorded
            unrecorded.removeAll()
            condition.unlock()
            for entry in refused { keep(entry.item, entry.outcome, entry.operation, again: true) }

            var nextDue: Int64?
            if capacity > 0 {
                do {
                    let now = dueAll ? Int64.max : nowMs()
                    let items = try Outbox.due(nowMs: now, limit: capacity, excluding: busy, in: reader.db)
                    condition.lock()
                    saturated = items.count == capacity
                    condition.unlock()
                    if dueAll {
                        condition.lock()
                        lastTried.formUnion(items.map(\.id))
                        condition.unlock()
                    }
                    for item in items { send(item) }
                    nextDue = try Outbox.nextDueMs(in: reader.db)
                } catch {
                    logger.error("outbox read failed", metadata: ["error": "\(error)"])
                    nextDue = nowMs() + 1_000
                }
            }

            condition.lock()
            scanning = false
            if !woken && !stopping {
                // Due rows not sent now are in flight or over capacity: a completion wakes us. Otherwise sleep
                // until the next row falls due (1 s at most, so rows added by a restarted peer are seen).
                let now = nowMs()
                let until = (nextDue.map { $0 > now ? $0 : now + 1_000 } ?? now + 1_000)
                _ = condition.wait(until: Date().addingTimeInterval(Double(min(until - now, 1_000)) / 1000))
            }
            condition.unlock()
        }
    }

    private func send(_ item: Outbox.Item) {
        condition.lock()
        // Posted by `enqueued` since the snapshot of `inFlight`: in flight still, or done.
        guard !inFlight.contains(item.id), !doneDuringScan.contains(item.id) else {
            condition.unlock()
            return
        }
        inFlight.insert(item.id)
        transfers += 1
        condition.unlock()
        switch target {
        case .dryRun(let sink):
            do {
                let path = try sink.write(outboxID: item.id, simulationResultID: item.simulationResultID, body: item.body)
                logger.info("dry-run: wrote body", metadata: ["call_id": "\(item.callID)", "simulation_result_id": "\(item.simulationResultID)", "path": "\(path)"])
                record(item, .delivered(status: 0))
            } catch {
                record(item, .retryable(reason: "dry-run write failed: \(error)", status: nil, retryAfterMs: nil))
            }
        case .bluejay(let client):
            client.post(body: item.body) { [self] outcome in record(item, outcome) }
        }
    }

    private func counted(_ read: ((delivered: Int, retried: Int, dead: Int)) -> Int) -> Int {
        condition.lock(); defer { condition.unlock() }
        return read(outcomes)
    }

    private func count(_ change: (inout (delivered: Int, retried: Int, dead: Int)) -> Void) {
        condition.lock(); defer { condition.unlock() }
        change(&outcomes)
    }

    private func record(_ item: Outbox.Item, _ outcome: DeliveryOutcome) {
        condition.lock()
        transfers -= 1
        if saturated {
            woken = true
            condition.signal()
        }
        condition.unlock()
        let attempts = item.attempts + 1
        let now = nowMs()
        let meta: Logger.Metadata = ["call_id": "\(item.callID)", "simulation_result_id": "\(item.simulationResultID)", "attempt": "\(attempts)"]
        let operation: StoreWriter.Operation
        switch outcome {
        case .delivered(let status):
            count { $0.delivered += 1 }
            attemptsDelivered.increment()
            if status != 0 { logger.debug("delivered to Bluejay", metadata: meta.merging(["status": "\(status)"]) { $1 }) }
            operation = { db in try Outbox.markDelivered(item.id, status: status, attempts: attempts, nowMs: now, in: db) }
        case .retryable(let reason, let status, let retryAfterMs):
            count { $0.retried += 1 }
            attemptsRetried.increment()
            let delay = self.policy.delayMs(afterAttempt: attempts, retryAfterMs: retryAfterMs, random: Double.random(in: 0..<1))
            logger.warning("delivery failed, will retry", metadata: meta.merging(["reason": "\(reason)", "retry_in_ms": "\(delay)"]) { $1 })
            operation = { db in
                try Outbox.scheduleRetry(item.id, attempts: attempts, nextAttemptAtMs: now + delay, status: status, error: reason, nowMs: now, in: db)
            }
        case .rejected(let status, let body):
            count { $0.dead += 1 }
            attemptsDead.increment()
            let reason = "HTTP \(status): \(body)"
            logger.error("Bluejay rejected the body; kept as a dead letter", metadata: meta.merging(["status": "\(status)", "reason": "\(reason.prefix(500))"]) { $1 })
            operation = { db in try Outbox.markDead(item.id, attempts: attempts, status: status, reason: reason, nowMs: now, in: db) }
        }
        keep(item, outcome, operation, again: false)
    }

    /// Commits an outcome. Deferrable: the transfer is over and its slot free; the outcome joins the next commit.
    /// A crash before it (or a power loss before its sync) means one more attempt of a body Bluejay already has,
    /// as a crash just after the POST always did. A commit that fails leaves the row in flight (`unrecorded`).
    private func keep(_ item: Outbox.Item, _ outcome: DeliveryOutcome, _ operation: @escaping StoreWriter.Operation, again: Bool) {
        writer.submit(operation, deferrable: true, durability: .written) { [self] error in
            condition.lock()
            if let error {
                unrecorded.append((item, outcome, operation))
                condition.unlock()
                if !again {
                    logger.error("could not record delivery outcome; the body is not posted again while it is tried again",
                                 metadata: ["call_id": "\(item.callID)", "simulation_result_id": "\(item.simulationResultID)", "error": "\(error)"])
                }
                return
            }
            inFlight.remove(item.id)
            if scanning { doneDuringScan.insert(item.id) }
            // A delivered or dead row is done; a retry's new due time may be sooner than the worker's next look.
            if case .retryable = outcome {
                woken = true
                condition.signal()
            }
            condition.unlock()
            if again { logger.info("delivery outcome recorded", metadata: ["call_id": "\(item.callID)", "simulation_result_id": "\(item.simulationResultID)"]) }
        }
    }
}
