import XCTest
@testable import BluejayStore
import Logging

/// `StoreWriter.commitIfIdle`: an idle store commits a submitter's `written` operations on the submitter's thread,
/// without waking the writer; anything else stays the writer thread's.
final class StoreIdleCommitTests: StoreTestCase {
    private var writer: StoreWriter!

    override func setUp() {
        super.setUp()
        writer = try! StoreWriter(path: dir + "/store.sqlite", logger: Logger(label: "t"))
        // The log's length is known from the first commit on (before it, a log left by a crash may be long).
        try! writer.perform { db in try Ledger.upsert(self.call("warm-up"), in: db) }
    }

    override func tearDown() {
        writer?.close()
        super.tearDown()
    }

    private var idle: UInt32 { UInt32(StoreWriter.idleCommitMs * 3_000) }

    /// Submits an upsert of `id` marked `committedHere`, then `commitIfIdle()`; returns whether the completion ran
    /// on this thread, waiting up to 10 s for it.
    private func upsertHere(_ id: String, durability: StoreWriter.Durability = .written) -> Bool? {
        let done = DispatchSemaphore(value: 0)
        var here: Bool?
        let caller = pthread_self()
        writer.submit({ db in try Ledger.upsert(self.call(id), in: db) }, singleStatement: true, durability: durability,
                      committedHere: true) { error in
            XCTAssertNil(error)
            here = pthread_equal(pthread_self(), caller) != 0
            done.signal()
        }
        writer.commitIfIdle()
        guard done.wait(timeout: .now() + 10) == .success else { return nil }
        return here
    }

    /// Waits (up to 5 s) for the writer thread to be asleep, so that its wake-ups can be counted from there.
    private func waitForWriterAsleep() {
        let deadline = Date().addingTimeInterval(5)
        while !writer.isAsleep && Date() < deadline { usleep(1_000) }
        XCTAssertTrue(writer.isAsleep)
    }

    private func waitForSyncs(above count: Int) {
        let deadline = Date().addingTimeInterval(5)
        while writer.syncs <= count && Date() < deadline { usleep(2_000) }
        XCTAssertGreaterThan(writer.syncs, count)
    }

    /// Idle: the commit runs here, the writer is not woken for it, and the row is readable by another connection.
    /// The writer still syncs the log within `maxUnsyncedMs`.
    func testIdleStoreCommitsOnTheCallersThreadWithoutWakingTheWriter() throws {
        usleep(idle)
        waitForWriterAsleep()
        let sleepsBefore = writer.sleeps
        let syncsBefore = writer.syncs
        let commitsBefore = writer.commits
        XCTAssertEqual(upsertHere("here"), true, "committed on the caller's thread")
        XCTAssertEqual(writer.commits, commitsBefore + 1)
        XCTAssertNotNil(try Ledger.call("here", in: StoreReader(path: dir + "/store.sqlite").db))
        let deadline = Date().addingTimeInterval(5)
        while writer.syncs == syncsBefore && Date() < deadline { usleep(5_000) }
        XCTAssertEqual(writer.syncs, syncsBefore + 1, "the writer syncs what was committed here")
        // One wake-up to learn of the unsynced commit, one for the sync's deadline (and room for one spurious
        // wake-up): none for the commit itself.
        XCTAssertLessThanOrEqual(writer.sleeps - sleepsBefore, 3)
    }

    /// Several idle rounds, each after the last one's sync: each commits here, once.
    func testIdleRoundsCommitHereOneCommitEach() throws {
        let commitsBefore = writer.commits
        for i in 0..<3 {
            let syncs = writer.syncs
            usleep(idle)
            XCTAssertEqual(upsertHere("round-\(i)"), true, "round \(i)")
            waitForSyncs(above: syncs)
        }
        XCTAssertEqual(writer.commits, commitsBefore + 3)
    }

    /// `close()` while a caller commits here: it waits for that commit, then returns (the writer thread must be
    /// woken as well as `close()`, which waits on the same condition).
    func testCloseDuringACommitHereWaitsForItAndReturns() throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let completed = DispatchSemaphore(value: 0)
        let closed = DispatchSemaphore(value: 0)
        let writer = self.writer!
        usleep(idle)
        DispatchQueue.global().async {
            writer.submit({ db in
                entered.signal()
                release.wait()
                try Ledger.upsert(self.call("held"), in: db)
            }, durability: .written, committedHere: true) { error in
                XCTAssertNil(error)
                completed.signal()
            }
            writer.commitIfIdle()
        }
        XCTAssertEqual(entered.wait(timeout: .now() + 10), .success, "the commit began on the caller's thread")
        DispatchQueue.global().async {
            writer.close()
            closed.signal()
        }
        XCTAssertEqual(closed.wait(timeout: .now() + 0.2), .timedOut, "close() waits for the commit under way")
        release.signal()
        XCTAssertEqual(completed.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(closed.wait(timeout: .now() + 10), .success, "close() returned")
        XCTAssertNotNil(try Ledger.call("held", in: StoreReader(path: dir + "/store.sqlite").db))
        self.writer = nil
    }

    /// A commit began less than `idleCommitMs` ago (here: a store never idle long enough): the writer thread
    /// commits it, woken by `commitIfIdle` since the submission did not wake it.
    func testBusyStoreLeavesTheCommitToTheWriter() throws {
        writer.close()
        writer = try StoreWriter(path: dir + "/store.sqlite", logger: Logger(label: "t"), walPages: WALCheckpointer.defaultPages,
                                 idleCommitMs: 3_600_000)
        try writer.perform { db in try Ledger.upsert(self.call("first"), in: db) }
        usleep(idle)
        XCTAssertEqual(upsertHere("busy"), false)
        XCTAssertEqual(upsertHere("busy again"), false)
    }

    /// A log near the length at which a commit runs the writer's own checkpoint (which waits for the checkpoint
    /// thread): the writer thread commits, not the caller.
    func testLogNearTheWritersCheckpointLeavesTheCommitToTheWriter() throws {
        writer.close()
        writer = try StoreWriter(path: dir + "/store.sqlite", logger: Logger(label: "t"), walPages: (wake: 1_000_000, writer: 40))
        usleep(idle)
        XCTAssertEqual(upsertHere("unknown log"), false, "the log's length is not known before the first commit")
        usleep(idle)
        XCTAssertEqual(upsertHere("short log"), true, "idle, and the log is short")
        var i = 0
        while !writer.checkpointer.nearWritersCheckpoint && i < 1_000 {
            try writer.perform { db in try Ledger.upsert(self.call("grow-\(i)"), in: db) }
            i += 1
        }
        XCTAssertTrue(writer.checkpointer.nearWritersCheckpoint, "\(writer.checkpointer.logPages ?? -1) pages after \(i) commits")
        XCTAssertLessThan(try XCTUnwrap(writer.checkpointer.logPages), 40)
        usleep(idle)
        XCTAssertEqual(upsertHere("long log"), false)
    }

    /// An operation that must be on disk is never synced on the caller's thread (an event loop would wait on the
    /// disk): the writer commits and syncs it.
    func testOnDiskOperationIsLeftToTheWriter() throws {
        usleep(idle)
        let syncsBefore = writer.syncs
        XCTAssertEqual(upsertHere("disk", durability: .onDisk), false)
        XCTAssertEqual(writer.syncs, syncsBefore + 1)
    }

    /// Closing while callers commit here: every operation completes exactly once, and close returns.
    func testCloseWhileCommittingHereLosesNothing() throws {
        let total = 200
        let completed = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let writer = self.writer!
        for t in 0..<2 {
            DispatchQueue.global().async(group: group) {
                for i in 0..<(total / 2) {
                    writer.submit({ db in try Ledger.upsert(self.call("c-\(t)-\(i)"), in: db) }, durability: .written,
                                  committedHere: true) { _ in completed.signal() }
                    writer.commitIfIdle()
                    if i % 10 == 0 { usleep(UInt32(StoreWriter.idleCommitMs * 1_500)) }
                }
            }
        }
        group.wait()
        writer.close()
        for i in 0..<total {
            XCTAssertEqual(completed.wait(timeout: .now() + 10), .success, "completion \(i)")
        }
        XCTAssertNotEqual(completed.wait(timeout: .now() + 0.05), .success, "a completion ran twice")
        let db = try StoreReader(path: dir + "/store.sqlite").db
        XCTAssertEqual(try db.statement("SELECT count(*) FROM calls WHERE call_id LIKE 'c-%'").firstRow { $0.int64(0) }, Int64(total))
        self.writer = nil
    }
}
