import XCTest
@testable import BluejayStore
import Logging

final class StoreWriterTests: StoreTestCase {

    /// A batch of records counts by its rows toward `maxBatch`: heavy operations queued together commit apart.
    func testHeavyOperationsCountByWeightTowardTheBatchLimit() throws {
        let writer = try StoreWriter(path: dir + "/store.sqlite", logger: Logger(label: "t"))
        defer { writer.close() }
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        group.enter()
        let before = writer.commits
        // Holds the writer inside its commit while the rest queue.
        writer.submit({ _ in entered.signal(); release.wait() }, completion: { _ in group.leave() })
        entered.wait()
        for _ in 0..<3 {
            group.enter()
            writer.submit({ _ in }, weight: StoreWriter.maxBatch * 3 / 4, completion: { error in
                XCTAssertNil(error)
                group.leave()
            })
        }
        release.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(writer.commits - before, 4, "the holding commit, then one commit per heavy operation")
    }

    /// Checkpoints run off the writer's thread, and the log restarts from its beginning even though the writer
    /// never pauses: the WAL file stays far smaller than all that was written, and every record is there.
    func testWALIsCheckpointedAndRestartsUnderContinuousWrites() throws {
        let path = dir + "/store.sqlite"
        let writer = try StoreWriter(path: path, logger: Logger(label: "t"), walPages: (wake: 100, writer: 300))
        let calls = (0..<50).map { "c\($0)" }
        try writer.perform { db in for id in calls { try Ledger.upsert(self.call(id), in: db) } }
        let fragment = [UInt8](repeating: UInt8(ascii: "x"), count: 1_000)
        let batches = 100, perBatch = 200
        // One commit per batch (a batch queued behind another would share its commit).
        for b in 0..<batches {
            try writer.perform { db in
                let appender = try Ledger.appender(in: db)
                for i in 0..<perBatch {
                    try appender.append(StoredRecord(kind: "tool_call", startIsOffset: true, startValue: Int64(b * perBatch + i),
                                                     fragment: fragment), callID: calls[i % calls.count])
                }
            }
        }
        let written = batches * perBatch * fragment.count
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        let main = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        XCTAssertLessThan(wal, written / 2, "the log restarted instead of holding every commit")
        XCTAssertGreaterThan(main, written / 2, "checkpoints copied the records into the database")
        let reader = try StoreReader(path: path)
        let count = try reader.db.statement("SELECT count(*) FROM records").firstRow { $0.int64(0) }
        XCTAssertEqual(count, Int64(batches * perBatch))
        writer.close()
    }

    func testRecordsSurviveReopenInOrder() throws {
        let path = dir + "/store.sqlite"
        var writer: StoreWriter? = try StoreWriter(path: path, logger: Logger(label: "t"))
        try writer!.perform { db in try Ledger.upsert(self.call("c1"), in: db) }
        let group = DispatchGroup()
        let lock = NSLock()
        var acked = 0
        for i in 0..<500 {
            group.enter()
            writer!.submit({ db in
                try Ledger.append(StoredRecord(kind: "tool_call", startIsOffset: true, startValue: Int64(i),
                                               fragment: Array("\"name\":\"t\(i)\"".utf8)), callID: "c1", in: db)
            }, completion: { error in
                XCTAssertNil(error)
                lock.lock(); acked += 1; lock.unlock()
                group.leave()
            })
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(acked, 500)
        // Group commit: 500 operations took far fewer transactions than operations.
        XCTAssertLessThan(writer!.commits, 500)
        writer!.close()
        writer = nil

        let reader = try StoreReader(path: path)
        let records = try Ledger.records(callID: "c1", in: reader.db)
        XCTAssertEqual(records.map(\.startValue), (0..<500).map(Int64.init))
        XCTAssertEqual(String(decoding: records[7].fragment, as: UTF8.self), "\"name\":\"t7\"")
        XCTAssertEqual(try Ledger.call("c1", in: reader.db), call("c1"))
        XCTAssertEqual(try Ledger.openCalls(in: reader.db).map(\.callID), ["c1"])
    }

    func testFailingOperationDoesNotSinkItsBatch() throws {
        let writer = try StoreWriter(path: dir + "/s.sqlite", logger: Logger(label: "t"))
        defer { writer.close() }
        struct Boom: Error {}
        let group = DispatchGroup()
        var errors: [Bool] = Array(repeating: false, count: 3)
        for i in 0..<3 {
            group.enter()
            writer.submit({ db in
                try Ledger.upsert(self.call("c\(i)"), in: db)
                if i == 1 { throw Boom() }
            }, completion: { error in errors[i] = error != nil; group.leave() })
        }
        XCTAssertEqual(group.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(errors, [false, true, false])
        let reader = try StoreReader(path: dir + "/s.sqlite")
        XCTAssertNotNil(try Ledger.call("c0", in: reader.db))
        XCTAssertNil(try Ledger.call("c1", in: reader.db), "the failed operation's write was rolled back")
        XCTAssertNotNil(try Ledger.call("c2", in: reader.db))
    }

    func testOutboxLifecycle() throws {
        let writer = try StoreWriter(path: dir + "/o.sqlite", logger: Logger(label: "t"))
        defer { writer.close() }
        var items: [Outbox.Item] = []
        try writer.perform { db in
            for i in 0..<3 {
                items.append(try Outbox.enqueue(callID: "c\(i)", simulationResultID: "s\(i)", body: [UInt8]("{}".utf8),
                                                nowMs: 100 + Int64(i), in: db))
            }
        }
        let ids = items.map(\.id)
        let reader = try StoreReader(path: dir + "/o.sqlite")
        // What enqueue returns (and the flush hands to the delivery worker) is the row as stored.
        XCTAssertEqual(try items.map { try Outbox.item($0.id, in: reader.db) }, items)
        XCTAssertEqual(try Outbox.due(nowMs: 101, limit: 10, in: reader.db).map(\.id), [ids[0], ids[1]])
        XCTAssertEqual(try Outbox.due(nowMs: 500, limit: 10, excluding: [ids[0]], in: reader.db).map(\.id), [ids[1], ids[2]])
        try writer.perform { db in
            try Outbox.markDelivered(ids[0], status: 200, attempts: 1, nowMs: 200, in: db)
            try Outbox.scheduleRetry(ids[1], attempts: 1, nextAttemptAtMs: 5_000, status: 503, error: "HTTP 503", nowMs: 200, in: db)
            try Outbox.markDead(ids[2], attempts: 1, status: 422, reason: "HTTP 422: bad", nowMs: 200, in: db)
        }
        XCTAssertEqual(try Outbox.due(nowMs: 4_999, limit: 10, in: reader.db), [])
        XCTAssertEqual(try Outbox.nextDueMs(in: reader.db), 5_000)
        XCTAssertEqual(try Outbox.count(state: .dead, in: reader.db), 1)
        XCTAssertEqual(try Outbox.item(ids[2], in: reader.db)?.lastError, "HTTP 422: bad")
        try writer.perform { db in try Outbox.requeue(ids[2], nowMs: 300, in: db) }
        XCTAssertEqual(try Outbox.due(nowMs: 300, limit: 10, in: reader.db).map(\.id), [ids[2]])
    }

    func testReadOnlyDirectoryIsUnavailableNotFatal() throws {
        // A store whose file cannot be created reports a clear error instead of crashing.
        XCTAssertThrowsError(try StoreWriter(path: "/proc/bluejay-no-such/x.sqlite", logger: Logger(label: "t")))
    }
}

final class RetentionTests: StoreTestCase {
    func testPruneDropsOldFlushedCallsAndDeliveredBodiesButKeepsOpenCallsAndDeadLetters() throws {
        let writer = try StoreWriter(path: dir + "/s.sqlite", logger: Logger(label: "t"))
        defer { writer.close() }
        try writer.perform { db in
            for id in ["old", "recent", "open"] {
                try Ledger.upsert(self.call(id), in: db)
                try Ledger.append(StoredRecord(kind: "tool_call", startIsOffset: true, startValue: 0, fragment: Array(#""name":"x""#.utf8)),
                                  callID: id, in: db)
            }
            try Ledger.setFlushState(.flushed, callID: "old", atMs: 1_000, in: db)
            try Ledger.setFlushState(.flushed, callID: "recent", atMs: 9_000, in: db)
            let delivered = try Outbox.enqueue(callID: "old", simulationResultID: "s-old", body: [], nowMs: 1_000, in: db)
            try Outbox.markDelivered(delivered.id, status: 200, attempts: 1, nowMs: 1_000, in: db)
            let dead = try Outbox.enqueue(callID: "old", simulationResultID: "s-old", body: [], nowMs: 1_000, in: db)
            try Outbox.markDead(dead.id, attempts: 1, status: 422, reason: "bad", nowMs: 1_000, in: db)
            try Ledger.prune(flushedBeforeMs: 5_000, in: db)
            try Outbox.pruneDelivered(beforeMs: 5_000, in: db)
        }
        let reader = try StoreReader(path: dir + "/s.sqlite")
        XCTAssertNil(try Ledger.call("old", in: reader.db))
        XCTAssertEqual(try Ledger.records(callID: "old", in: reader.db), [])
        XCTAssertEqual(try Ledger.records(callID: "recent", in: reader.db).count, 1, "flushed after the cutoff: kept")
        XCTAssertEqual(try Ledger.records(callID: "open", in: reader.db).count, 1, "open calls are never pruned")
        XCTAssertEqual(try Outbox.count(state: .delivered, in: reader.db), 0)
        XCTAssertEqual(try Outbox.count(state: .dead, in: reader.db), 1, "dead letters stay for an operator")
    }
}
