import XCTest
@testable import BluejayStore
import Logging

/// `StoreWriter.Durability`: what a completion may promise, and when the log is synced.
final class StoreDurabilityTests: StoreTestCase {
    private var writer: StoreWriter!

    override func setUp() {
        super.setUp()
        writer = try! StoreWriter(path: dir + "/store.sqlite", logger: Logger(label: "t"))
    }

    override func tearDown() {
        writer?.close()
        super.tearDown()
    }

    /// Submits an upsert of call `id`; returns the writer's sync count seen by its completion.
    private func upsert(_ id: String, _ durability: StoreWriter.Durability) -> Int {
        let done = DispatchSemaphore(value: 0)
        var seen = -1
        let writer = self.writer!
        writer.submit({ db in try Ledger.upsert(self.call(id), in: db) }, durability: durability) { error in
            XCTAssertNil(error)
            seen = writer.syncs
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        return seen
    }

    private func waitForSyncs(above count: Int) {
        let deadline = Date().addingTimeInterval(5)
        while writer.syncs <= count && Date() < deadline { usleep(5_000) }
    }

    /// A `written` commit completes unsynced but already readable by another connection (what a crash of the
    /// process leaves); the writer syncs the log on its own once, and not again while nothing new is written.
    func testWrittenCommitCompletesBeforeItsSyncWhichFollowsOnItsOwn() throws {
        let before = writer.syncs
        XCTAssertEqual(upsert("w", .written), before, "completion ran after a sync it does not wait for")
        XCTAssertNotNil(try Ledger.call("w", in: StoreReader(path: dir + "/store.sqlite").db))
        waitForSyncs(above: before)
        XCTAssertEqual(writer.syncs, before + 1, "the idle writer syncs an unsynced log once")
        usleep(UInt32(StoreWriter.maxUnsyncedMs * 3_000))
        XCTAssertEqual(writer.syncs, before + 1, "nothing new was written: no further sync")
    }

    /// An `onDisk` commit is synced before its completion runs, and its sync covers the `written` commits ahead
    /// of it: no separate sync follows for them.
    func testOnDiskCommitSyncsBeforeItsCompletionAndCoversEarlierWrites() throws {
        let before = writer.syncs
        XCTAssertEqual(upsert("a", .written), before)
        XCTAssertEqual(upsert("b", .onDisk), before + 1, "an onDisk completion runs after its sync")
        usleep(UInt32(StoreWriter.maxUnsyncedMs * 3_000))
        XCTAssertEqual(writer.syncs, before + 1, "the written commit was synced by the onDisk one")
    }

    /// A `written` operation that changes nothing leaves nothing to sync.
    func testWrittenCommitThatChangesNothingNeedsNoSync() throws {
        let before = writer.syncs
        let done = DispatchSemaphore(value: 0)
        writer.submit({ db in _ = try Ledger.call("absent", in: db) }, durability: .written) { _ in done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        usleep(UInt32(StoreWriter.maxUnsyncedMs * 3_000))
        XCTAssertEqual(writer.syncs, before)
    }

    /// Closing syncs what is still unsynced, even before `maxUnsyncedMs` has passed.
    func testCloseSyncsUnsyncedCommits() throws {
        let before = writer.syncs
        XCTAssertEqual(upsert("c", .written), before)
        writer.close()
        XCTAssertEqual(writer.syncs, before + 1)
        writer = nil
    }

    /// Many `written` commits over a few multiples of `maxUnsyncedMs` share a few syncs: one per interval at most.
    func testWrittenCommitsShareSyncsByInterval() throws {
        let before = writer.syncs
        let started = Date()
        var commits = 0
        while Date().timeIntervalSince(started) * 1000 < Double(StoreWriter.maxUnsyncedMs * 4) && commits < 2_000 {
            _ = upsert("s\(commits)", .written)
            commits += 1
        }
        let elapsedMs = Date().timeIntervalSince(started) * 1000
        waitForSyncs(above: before)
        let syncs = writer.syncs - before
        XCTAssertGreaterThan(commits, 20)
        XCTAssertGreaterThanOrEqual(syncs, 1)
        XCTAssertLessThanOrEqual(syncs, Int(elapsedMs) / StoreWriter.maxUnsyncedMs + 2, "\(commits) commits, \(syncs) syncs in \(Int(elapsedMs)) ms")
    }

    /// `written` operations arriving faster than one per `writtenPaceMs` share commits: at most one commit per
    /// interval, where without the pace each would take a commit of its own (one takes far less than the gap).
    func testWrittenOperationsArrivingCloselyShareCommitsByPace() throws {
        try writer.perform { db in try Ledger.upsert(self.call("p"), in: db) }
        let before = writer.commits
        let group = DispatchGroup()
        let started = Date()
        var submitted = 0
        // One every 100 µs (spun, not slept: sleeping overshoots) for 200 ms.
        while Date().timeIntervalSince(started) < 0.2 {
            let due = started.addingTimeInterval(Double(submitted) * 0.0001)
            while Date() < due {}
            group.enter()
            let record = StoredRecord(kind: "event", startIsOffset: true, startValue: Int64(submitted), fragment: Array("{}".utf8))
            writer.submit({ db in try Ledger.append(record, callID: "p", in: db) }, durability: .written) { error in
                XCTAssertNil(error)
                group.leave()
            }
            submitted += 1
        }
        let elapsedMs = Date().timeIntervalSince(started) * 1000
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        let commits = writer.commits - before
        XCTAssertGreaterThan(submitted, 500) // well above one per millisecond, even under a sanitizer
        XCTAssertLessThanOrEqual(Double(commits), elapsedMs / StoreWriter.writtenPaceMs + 3,
                                 "\(submitted) operations in \(commits) commits over \(Int(elapsedMs)) ms")
    }

    /// A deferrable operation submitted while the writer sleeps until a sync (a `written` commit just ran) does
    /// not wake it: it waits for that sync's commit, as it would have waited for its own deferral. A writer
    /// woken by the submission would sleep again before that commit.
    func testDeferrableOperationDoesNotWakeAWriterSleepingUntilASync() throws {
        let rounds = 5
        var extraSleeps = 0
        for round in 0..<rounds {
            _ = upsert("d\(round)", .written)
            usleep(5_000) // the writer is asleep until the sync
            let before = writer.sleeps
            let done = DispatchSemaphore(value: 0)
            var atCommit = 0
            let writer = self.writer!
            let record = StoredRecord(kind: "event", startIsOffset: true, startValue: 0, fragment: Array("{}".utf8))
            writer.submit({ db in try Ledger.append(record, callID: "d\(round)", in: db) }, deferrable: true, durability: .written) { error in
                XCTAssertNil(error)
                atCommit = writer.sleeps // on the writer's thread, before it sleeps again
                done.signal()
            }
            XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
            extraSleeps += atCommit - before
        }
        XCTAssertLessThanOrEqual(extraSleeps, 1, "sleeps begun between the submissions and their commits over \(rounds) rounds")
    }
}
