import CSQLite
import Foundation
import Logging
import Metrics
import Synchronization

/// The store's only writer: a dedicated thread that commits every pending operation in one transaction
/// (group commit), so thousands of acknowledgements share one fsync while each still means "on disk".
public final class StoreWriter: @unchecked Sendable {
    public typealias Operation = (SQLiteConnection) throws -> Void
    public typealias Completion = (Error?) -> Void

    /// How far an operation's commit has gone when its completion runs.
    public enum Durability: Sendable {
        /// In the log and synced to disk (`fdatasync`): survives a power loss. For whatever a peer is told is
        /// kept (the agent's lines, `start` and `end`, Bluejay's webhooks).
        case onDisk
        /// In the log, in the kernel's page cache: survives a crash or `kill -9` of the sidecar at once, and a
        /// power loss once synced, which the writer does within `maxUnsyncedMs` (or with the next `onDisk`
        /// commit, whichever comes first). For state no peer is told was kept (SIP call state, SIP events,
        /// flushes the SIP side starts, delivery outcomes): one `fdatasync` per commit cost more CPU per call
        /// at an idle rate than all of its SIP work.
        case written
    }

    /// How long a `written` commit may stay unsynced.
    public static let maxUnsyncedMs = 100

    private struct Pending {
        var operation: Operation
        var completion: Completion?
        /// One SQL statement: SQLite makes it atomic on its own, so it needs no savepoint of its own.
        var singleStatement: Bool
        var deferrable: Bool
        var durability: Durability
        /// Rows it writes (an agent's batch of records counts each), for `maxBatch`.
        var weight: Int
    }

    /// Ops (by weight) per transaction at most: bounds commit latency under a flood.
    public static let maxBatch = 4_096
    /// Weight of the queued operations.
    private var queuedWeight = 0
    /// How long deferrable operations wait for an urgent one to share its commit: as long as a `written` commit
    /// waits for its sync, so one submitted while the writer sleeps until a sync never wakes it.
    public static let maxDeferMs = maxUnsyncedMs

    private let condition = NSCondition()
    private var queue: [Pending] = []
    /// Queued operations someone waits on; while there are none, deferrable ones wait up to `maxDeferMs`.
    private var urgent = 0
    /// Of those, the ones that must be on disk: they never wait for `writtenPaceMs`.
    private var urgentOnDisk = 0
    /// When the last commit began. Written by the committing thread under `condition`.
    private var lastCommitAt = Date.distantPast
    /// The writer sleeps on `condition`, until `sleepUntil` (nil: until signalled). A submission signals it only
    /// when its operation falls due before then: at a few calls a second a wake-up costs more than the operation,
    /// and a writer woken for a deferrable or paced operation only went back to sleep.
    private var sleeping = false
    private var sleepUntil: Date?
    /// Commits holding only `written` operations begin at most this often. An unsynced commit takes a fraction
    /// of a millisecond, so under load the writer would commit a call or two at a time, and each commit writes
    /// every page it touched to the log again (the same few hot pages of each table and index): batches a sync
    /// used to gather now gather in this interval. Below a call per interval it adds nothing.
    static let writtenPaceMs = 1.0
    /// A submitter may commit its own `written` operations on its thread (`commitIfIdle`) once the store has been
    /// idle this long: commits are then too rare to batch, and handing one to the writer thread and its completion
    /// back cost two thread wake-ups, more CPU than the commit. Longer than `writtenPaceMs`, so under load the writer
    /// batches as before and the submitter's thread keeps to its own work.
    public static let idleCommitMs = 2.0
    /// `idleCommitMs`, or longer in tests that need a store that is never idle.
    private let idleCommitMs: Double
    /// Whether a thread is committing (or syncing): the writer thread, or a submitter in `commitIfIdle`. The
    /// connection and the state of the commits (`unsyncedSince`, the failure counts, the locator) belong to that
    /// thread until it clears this, under `condition`.
    private var committing = false
    /// When the oldest queued operation was queued.
    private var queuedSince = Date()
    private var stopping = false
    private var stopped = false
    private var thread: Thread?
    /// Replaced by `reopenIfStuck()` when commits keep failing: a connection an I/O error left unusable must
    /// not outlive the outage that broke it.
    private var db: SQLiteConnection
    private let logger: Logger
    /// Checkpoints the WAL off this thread, so no commit waits for one.
    let checkpointer: WALCheckpointer
    /// Where open calls' records are; follows `db` across a reopen. The committing thread's (`committing`).
    private let locator = RecordLocator()
    /// The oldest commit not synced yet (nil: all synced), and the connection's `synchronous` setting. Written by
    /// the committing thread only; read under `condition` while no thread commits.
    private var unsyncedSince: Date?
    private var syncingCommits = true

    /// Commit failures (disk full, read-only), logged at most once every 10 s: when the outage began, failures
    /// not in a log line yet, and whether a failure was logged (then the recovery is too). The committing thread's.
    private var failingSinceMs: Int64?
    private var unloggedFailures = 0
    private var lastFailureLogMs: Int64 = 0
    private var failureLogged = false
    private var lastReopenMs: Int64 = 0
    /// Commits failing this long in a row get a fresh connection (at most once per such interval).
    static let reopenAfterMs: Int64 = 5_000
    /// Connections opened to replace a failing one; for tests and metrics.
    public private(set) var reopens = 0

    /// Commits that have run, operations they carried, and syncs of the log (in a commit or on their own): for
    /// metrics and benchmarks.
    public private(set) var commits: Int = 0
    public private(set) var operations: Int = 0
    /// Read from any thread (tests wait for the idle sync).
    public var syncs: Int { syncCount.load(ordering: .sequentiallyConsistent) }
    private let syncCount = Atomic<Int>(0)
    /// Times the writer slept (each ends in a wake-up): for tests of what wakes it.
    var sleeps: Int { sleepCount.load(ordering: .sequentiallyConsistent) }
    /// Whether the writer thread sleeps now: for tests that count its wake-ups from a quiet start.
    var isAsleep: Bool {
        condition.lock()
        defer { condition.unlock() }
        return sleeping
    }
    private let sleepCount = Atomic<Int>(0)
    private let commitCounter = Counter(label: "bluejay_sidecar_store_commits_total")
    private let syncCounter = Counter(label: "bluejay_sidecar_store_syncs_total")
    /// Pages written to the log (each a frame): the store's write amplification, per call or record.
    private let logPageCounter = Counter(label: "bluejay_sidecar_store_log_pages_total")

    public let path: String

    public convenience init(path: String, logger: Logger) throws {
        try self.init(path: path, logger: logger, walPages: WALCheckpointer.defaultPages, idleCommitMs: Self.idleCommitMs)
    }

    /// `walPages`: WAL lengths that start a checkpoint (small in tests, to see the log restart).
    init(path: String, logger: Logger, walPages: (wake: Int32, writer: Int32),
         idleCommitMs: Double = StoreWriter.idleCommitMs) throws {
        self.path = path
        self.idleCommitMs = idleCommitMs
        self.logger = logger
        do {
            db = try SQLiteConnection(path: path)
            try StoreSchema.apply(to: db)
            try locator.load(from: db)
            db.recordLocator = locator
        } catch let error as SQLiteError {
            // Name the store: "attempt to write a readonly database" alone does not say which file or why.
            throw error.message.contains(path) ? error : SQLiteError(code: error.code, message: "\(error.message) (store \(path))")
        }
        checkpointer = WALCheckpointer(path: path, logger: logger, pages: walPages)
        checkpointer.attach(to: db)
        let thread = DedicatedThread.make(name: "bj-store") { [weak self] in self?.run() }
        self.thread = thread
        thread.start()
    }

    /// Queues `operation`; `completion` runs on the thread that committed (the writer's, or a `commitIfIdle`
    /// caller's) after the transaction holding it committed (nil) or failed (the error). Operations run in
    /// submission order. `singleStatement`: the operation writes with at most one SQL statement (reads and checks
    /// aside), so a failure leaves nothing behind without a savepoint around it; the hot paths (agent records, SIP
    /// call state) say so.
    ///
    /// `deferrable`: nothing waits on this operation's durability (bookkeeping such as a delivery's outcome or a
    /// SIP-derived event), so it does not start a commit of its own: it joins the next one, or is committed
    /// `maxDeferMs` after it was queued. Its completion still runs only once it is durable.
    ///
    /// `weight`: how many rows the operation writes, so a batch of records counts as many operations toward `maxBatch`.
    ///
    /// `durability`: `onDisk` unless no one is told the operation's writes were kept (`Durability.written`).
    ///
    /// `committedHere`: the caller calls `commitIfIdle()` on its own thread right after (at the end of an event
    /// loop's tick), so the writer is not woken for this operation; if that call cannot commit, it wakes the writer.
    public func submit(_ operation: @escaping Operation, singleStatement: Bool = false, deferrable: Bool = false,
                       durability: Durability = .onDisk, weight: Int = 1, committedHere: Bool = false,
                       completion: Completion? = nil) {
        condition.lock()
        if stopping {
            condition.unlock()
            completion?(StoreError.closed)
            return
        }
        if queue.isEmpty { queuedSince = Date() }
        queue.append(Pending(operation: operation, completion: completion, singleStatement: singleStatement, deferrable: deferrable,
                             durability: durability, weight: max(1, weight)))
        queuedWeight += max(1, weight)
        if !deferrable { urgent += 1 }
        if !deferrable && durability == .onDisk { urgentOnDisk += 1 }
        if sleeping && !committedHere {
            // When the writer would commit this operation: at once, after the pace, or with the deferral's end.
            let due: Date
            if queuedWeight >= Self.maxBatch || (!deferrable && durability == .onDisk) {
                due = .distantPast
            } else if !deferrable {
                due = pacedUntil
            } else {
                due = deferredUntil
            }
            if sleepUntil.map({ due < $0 }) ?? true { condition.signal() }
        }
        condition.unlock()
    }

    /// Queues `operation` and blocks until it is durable. For start-up and tests, never an event loop.
    public func perform(_ operation: @escaping Operation) throws {
        let done = DispatchSemaphore(value: 0)
        var failure: Error?
        submit(operation) { error in
            failure = error
            done.signal()
        }
        done.wait()
        if let failure { throw failure }
    }

    /// Commits what is queued, then stops the thread. Later submissions fail with `StoreError.closed`. Not from a
    /// completion: it waits for the commit that runs the completion.
    public func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
        checkpointer.stop()
    }

    private func run() {
        var held = false
        while true {
            condition.lock()
            if held {
                committing = false
                held = false
            }
            while true {
                // A submitter committing on its own thread signals when it is done.
                if committing {
                    sleep(until: nil)
                    continue
                }
                if stopping { break }
                let due = nextDue
                if let due, Date() >= due { break }
                sleep(until: due)
            }
            if queue.isEmpty {
                // Only a sync was due, or the writer stops: nothing it wrote stays unsynced. Synced unlocked, so
                // no submitter waits on the disk.
                let stop = stopping
                let sync = unsyncedSince != nil
                committing = sync
                held = sync
                condition.unlock()
                if sync { syncLog() }
                guard stop else { continue }
                condition.lock()
                committing = false
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = takeBatch()
            let sync = unsyncedOverdue || batch.contains { $0.durability == .onDisk }
            lastCommitAt = Date()
            committing = true
            held = true
            condition.unlock()
            commit(batch, sync: sync)
        }
    }

    /// Commits what is queued on the calling thread, if the store is idle (`idleCommitMs`), nothing queued must be
    /// synced and the log is not near the writer's own checkpoint; else leaves it to the writer thread, and wakes
    /// it if it sleeps past when the queue is due. For an event loop, at the end of a tick that submitted
    /// `committedHere` operations: completions run here.
    public func commitIfIdle() {
        condition.lock()
        let now = Date()
        guard !queue.isEmpty, !committing, !stopping, queuedWeight < Self.maxBatch,
              now >= lastCommitAt.addingTimeInterval(idleCommitMs / 1000), !unsyncedOverdue, failingSinceMs == nil,
              !checkpointer.nearWritersCheckpoint, !queue.contains(where: { $0.durability == .onDisk }) else {
            wakeWriterIfDue()
            condition.unlock()
            return
        }
        let batch = takeBatch()
        lastCommitAt = now
        committing = true
        condition.unlock()
        commit(batch, sync: false) // decided here, under the lock: a sync falling due meanwhile is the writer's
        condition.lock()
        committing = false
        wakeWriterIfDue()
        condition.unlock()
    }

    /// Under `condition`: signals a sleeping writer when something falls due before it wakes. When stopping, wakes
    /// every waiter: `close()` waits on the same condition, and a single signal could wake it instead of the writer.
    private func wakeWriterIfDue() {
        if stopping { return condition.broadcast() }
        guard sleeping else { return }
        guard !committing, let due = nextDue else { return }
        if sleepUntil.map({ due < $0 }) ?? true { condition.signal() }
    }

    /// When the writer must next commit or sync (nil: nothing to do until signalled). Under `condition`, while no
    /// thread commits. Urgent operations: at once when one must be on disk or the batch is full, else after the
    /// pace. Deferrable ones wait for a commit until `maxDeferMs`, unsynced commits for a sync until `maxUnsyncedMs`.
    private var nextDue: Date? {
        if urgent > 0 {
            return urgentOnDisk > 0 || queuedWeight >= Self.maxBatch ? .distantPast : pacedUntil
        }
        var due = queue.isEmpty ? nil : deferredUntil
        if let since = unsyncedSince {
            let syncDue = since.addingTimeInterval(Double(Self.maxUnsyncedMs) / 1000)
            due = min(due ?? syncDue, syncDue)
        }
        return due
    }

    /// Under `condition`: the oldest queued operations up to `maxBatch` by weight (at least one, however heavy).
    private func takeBatch() -> [Pending] {
        let batch: [Pending]
        if queuedWeight <= Self.maxBatch {
            batch = queue
            queue.removeAll(keepingCapacity: true)
            urgent = 0
            urgentOnDisk = 0
            queuedWeight = 0
        } else {
            var count = 0, weight = 0
            while count < queue.count && (count == 0 || weight + queue[count].weight <= Self.maxBatch) {
                weight += queue[count].weight
                count += 1
            }
            batch = Array(queue.prefix(count))
            queue.removeFirst(count)
            queuedWeight -= weight
            urgent -= batch.reduce(0) { $1.deferrable ? $0 : $0 + 1 }
            urgentOnDisk -= batch.reduce(0) { $1.deferrable || $1.durability != .onDisk ? $0 : $0 + 1 }
            queuedSince = Date()
        }
        return batch
    }

    /// When a commit of `written` operations may begin: `writtenPaceMs` after the last commit began.
    private var pacedUntil: Date { lastCommitAt.addingTimeInterval(Self.writtenPaceMs / 1000) }
    /// When the queued deferrable operations are committed if no other operation brings a commit sooner.
    private var deferredUntil: Date { queuedSince.addingTimeInterval(Double(Self.maxDeferMs) / 1000) }

    /// Sleeps on `condition` (held) until `deadline` (nil: until signalled) or a signal.
    private func sleep(until deadline: Date?) {
        sleeping = true
        sleepUntil = deadline
        sleepCount.add(1, ordering: .sequentiallyConsistent)
        if let deadline { _ = condition.wait(until: deadline) } else { condition.wait() }
        sleeping = false
    }

    /// `sync`: decided by the committing thread under `condition` when it took the batch.
    private func commit(_ batch: [Pending], sync: Bool) {
        var results = [Error?](repeating: nil, count: batch.count)
        // SQLite syncs the log in the commit (synchronous=FULL) when an operation must be on disk, or when
        // earlier commits have waited `maxUnsyncedMs` for a sync; otherwise (NORMAL) it only writes it.
        let changesBefore = sqlite3_total_changes64(db.handle)
        do {
            if sync != syncingCommits {
                try db.statement(sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL").run()
                syncingCommits = sync
            }
            // Prepared once and kept (SQLiteConnection caches statements): compiling these four per
            // operation cost more than most operations themselves.
            let savepoint = try db.statement("SAVEPOINT op")
            let release = try db.statement("RELEASE op")
            try db.statement("BEGIN IMMEDIATE").run()
            for (i, item) in batch.enumerated() {
                // What the locator learnt from a failed operation goes with the operation's writes.
                let mark = locator.mark
                // A savepoint per operation: one failing operation leaves no half-write and does not sink the others.
                if item.singleStatement {
                    do {
                        try item.operation(db)
                    } catch let error as SQLiteError where error.isUnavailable {
                        throw error
                    } catch {
                        results[i] = error
                        locator.rollback(to: mark)
                    }
                    continue
                }
                try savepoint.run()
                do {
                    try item.operation(db)
                    try release.run()
                } catch let error as SQLiteError where error.isUnavailable {
                    throw error
                } catch {
                    results[i] = error
                    try db.statement("ROLLBACK TO op").run()
                    try release.run()
                    locator.rollback(to: mark)
                }
            }
            try db.statement("COMMIT").run()
            locator.commit()
            commits += 1
            operations += batch.count
            commitCounter.increment()
            if sync {
                unsyncedSince = nil
                syncCount.add(1, ordering: .sequentiallyConsistent)
                syncCounter.increment()
            } else if unsyncedSince == nil && sqlite3_total_changes64(db.handle) != changesBefore {
                unsyncedSince = Date()
            }
            if let since = failingSinceMs {
                if failureLogged {
                    logger.notice("store available again", metadata: ["unavailable_ms": "\(Self.nowMs - since)",
                                                                      "failed_commits_not_logged": "\(unloggedFailures)"])
                    unloggedFailures = 0
                    failureLogged = false
                }
                failingSinceMs = nil
            }
        } catch {
            try? db.execute("ROLLBACK")
            locator.rollback(to: 0)
            logFailure(error, operations: batch.count)
            if (error as? SQLiteError)?.isUnavailable == true { reopenIfStuck() }
            var failure: Error = error
            if let sqlite = error as? SQLiteError, sqlite.isUnavailable { failure = StoreError.unavailable(sqlite.description) }
            for i in results.indices { results[i] = failure }
        }
        logPageCounter.increment(by: db.takeLogPagesWritten()) // a failed commit's pages count too: they were written
        for (i, item) in batch.enumerated() { item.completion?(results[i]) }
    }
}

extension StoreWriter {
    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    fileprivate var unsyncedOverdue: Bool {
        guard let since = unsyncedSince else { return false }
        return Date().timeIntervalSince(since) * 1000 >= Double(Self.maxUnsyncedMs)
    }

    /// Syncs the log when `written` commits have waited `maxUnsyncedMs` and no commit came to do it. A failure
    /// is logged (at most once every 10 s) and the sync tried again `maxUnsyncedMs` later; nothing waits on it.
    fileprivate func syncLog() {
        let rc = bj_sqlite3_sync_log(db.handle)
        guard rc == SQLITE_OK else {
            unsyncedSince = Date()
            let now = Self.nowMs
            if now - lastFailureLogMs >= 10_000 {
                lastFailureLogMs = now
                logger.error("store log sync failed; retried", metadata: ["error": "\(db.lastError(rc))"])
            }
            return
        }
        unsyncedSince = nil
        syncCount.add(1, ordering: .sequentiallyConsistent)
        syncCounter.increment()
    }

    /// After `reopenAfterMs` of failing commits, a fresh connection replaces this one (kept if the new one cannot
    /// be opened): SQLite recovers from a full disk on its own, but not every I/O error leaves a usable handle.
    fileprivate func reopenIfStuck() {
        let now = Self.nowMs
        guard let since = failingSinceMs, now - since >= Self.reopenAfterMs, now - lastReopenMs >= Self.reopenAfterMs else { return }
        lastReopenMs = now
        do {
            let fresh = try SQLiteConnection(path: path)
            try StoreSchema.configureWriter(fresh)
            checkpointer.attach(to: fresh)
            fresh.recordLocator = locator
            db = fresh
            syncingCommits = true // configureWriter's setting
            reopens += 1
            logger.notice("store connection reopened after failing commits", metadata: ["failing_ms": "\(now - since)"])
        } catch {
            logger.warning("store connection could not be reopened; keeping the old one", metadata: ["error": "\(error)"])
        }
    }

    /// A failed commit is logged at most once every 10 s, with how many failed meanwhile unlogged: a full disk
    /// under load must not flood the log.
    fileprivate func logFailure(_ error: Error, operations: Int) {
        let now = Self.nowMs
        if failingSinceMs == nil { failingSinceMs = now }
        guard now - lastFailureLogMs >= 10_000 else {
            unloggedFailures += 1
            return
        }
        lastFailureLogMs = now
        failureLogged = true
        logger.error("store commit failed", metadata: ["error": "\(error)", "operations": "\(operations)",
                                                       "failed_commits_not_logged": "\(unloggedFailures)"])
        unloggedFailures = 0
    }
}

/// Why the store did not keep something.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// Disk full, read-only, I/O error: the caller must not acknowledge.
    case unavailable(String)
    case closed

    public var description: String {
        switch self {
        case .unavailable(let why): return "store unavailable: \(why)"
        case .closed: return "store closed"
        }
    }
}

extension StoreWriter {
    /// Queues `operation` and suspends until the transaction holding it committed; for async callers (HTTP).
    public func commit<T: Sendable>(_ operation: @escaping (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            var value: T?
            submit({ db in value = try operation(db) }, completion: { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: value!) }
            })
        }
    }
}

/// One read connection shared by low-traffic readers (the admin API), one at a time.
public final class SharedStoreReader: @unchecked Sendable {
    private let lock = NSLock()
    private let reader: StoreReader

    public init(path: String) throws { reader = try StoreReader(path: path) }

    /// Runs `body` in one read transaction: every statement sees the same snapshot, so counts taken by
    /// several queries add up even while the writer commits.
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        try reader.db.execute("BEGIN DEFERRED")
        defer { try? reader.db.execute("COMMIT") }
        return try body(reader.db)
    }
}
