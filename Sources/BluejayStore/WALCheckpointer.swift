import CSQLite
import Foundation
import Logging

/// Copies the WAL back into the database on its own thread and connection, so the store writer's commits never
/// wait for a checkpoint: one copying thousands of pages and syncing the database takes milliseconds, and SQLite's
/// automatic checkpoint does it inside whichever commit crosses the threshold, in front of every reply that commit
/// carries (the tail of the agents' ack latency). The writer's connection reports the WAL's length after each
/// commit (`sqlite3_wal_hook`, which also replaces SQLite's automatic checkpoint there).
///
/// PASSIVE checkpoints never block the writer. The log restarts from its beginning only when a commit finds it
/// wholly copied, which a writer that never pauses does not; so past `defaultPages.writer` the writer copies what
/// is left itself (after the checkpoint thread's pass, usually the few commits since), and the next commit
/// restarts the log.
/// Crash safety is SQLite's: a checkpoint only copies committed pages, and a crash in the middle is redone on open.
final class WALCheckpointer: @unchecked Sendable {
    /// WAL pages not yet copied that wake the checkpoint thread (8 MB), and WAL pages past which the writer
    /// finishes the checkpoint itself. One pass per `wake` pages: each pass syncs the log and the database, and
    /// passes back to back would crowd the disk the commits sync to.
    static let defaultPages = (wake: Int32(2_000), writer: Int32(12_000))

    private let wakePages: Int32
    private let writerPages: Int32

    private let path: String
    private let logger: Logger
    private let condition = NSCondition()
    private var due = false
    /// WAL pages the last pass copied (0 again once the log restarted).
    private var copied: Int32 = 0
    private var stopping = false
    private var stopped = false
    /// The log's length after the last commit, in pages (nil before the first: a log left by a crash may be long).
    /// The committing thread's (`StoreWriter.committing`).
    private(set) var logPages: Int32?
    /// The log is past three quarters of `writerPages`, or its length is not known yet: a commit may soon run the
    /// writer's own checkpoint, which waits for the checkpoint thread, so no event loop should be the one to commit
    /// (`StoreWriter.commitIfIdle`).
    var nearWritersCheckpoint: Bool { logPages.map { $0 >= writerPages / 4 * 3 } ?? true }
    /// Checkpoint thread only: the last failure logged (at most one line per 10 s).
    private var lastFailureLogMs: Int64 = 0

    init(path: String, logger: Logger, pages: (wake: Int32, writer: Int32) = defaultPages) {
        self.path = path
        self.logger = logger
        wakePages = pages.wake
        writerPages = pages.writer
        let thread = DedicatedThread.make(name: "bj-checkpoint") { [self] in run() }
        thread.start()
    }

    /// Reports the WAL's length after each commit on `db` (the writer's connection) instead of SQLite's
    /// automatic checkpoint. Again for every connection that replaces it.
    func attach(to db: SQLiteConnection) {
        sqlite3_wal_hook(db.handle, { context, db, _, pages in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue()
            checkpointer.logPages = pages
            if pages >= checkpointer.writerPages {
                // FULL waits (busy timeout) for a pass of the checkpoint thread to end, then copies the rest:
                // the next commit can restart the log.
                _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_FULL, nil, nil)
            } else {
                checkpointer.logLength(pages)
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// After each commit (on the committing thread): wakes the checkpoint thread once `wakePages` pages await copying.
    private func logLength(_ pages: Int32) {
        condition.lock()
        if pages < copied { copied = 0 } // the log restarted from its beginning
        if !due && pages - copied >= wakePages {
            due = true
            condition.signal()
        }
        condition.unlock()
    }

    /// Stops the thread (a checkpoint under way finishes first).
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var db: SQLiteConnection?
        while true {
            condition.lock()
            while !due && !stopping { condition.wait() }
            if stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            var logPages: Int32 = 0
            var copiedPages: Int32 = 0
            do {
                if db == nil {
                    let fresh = try SQLiteConnection(path: path)
                    // The copy into the database is synced before the log may be reused.
                    try fresh.execute("PRAGMA synchronous=FULL")
                    db = fresh
                }
                let rc = sqlite3_wal_checkpoint_v2(db!.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logPages, &copiedPages)
                if rc != SQLITE_OK && rc & 0xff != SQLITE_BUSY { throw db!.lastError(rc) }
            } catch {
                db = nil // a fresh connection next time: an I/O error may have left this one unusable
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                if now - lastFailureLogMs >= 10_000 {
                    lastFailureLogMs = now
                    logger.warning("store checkpoint failed; the writer's commits go on, the log grows until one succeeds",
                                   metadata: ["error": "\(error)"])
                }
            }
            condition.lock()
            copied = max(0, copiedPages)
            due = false // a commit during the pass asks again if enough is left
            condition.unlock()
        }
    }
}
