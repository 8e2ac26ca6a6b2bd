import XCTest
@testable import BluejayStore
import CSQLite
import Logging

/// The records table has no index on the call: the writer finds a call's records by rowid, and every path that
/// changes that (a failed operation, a failed commit, a restart, a migration, pruning) must leave it exact.
final class RecordLocatorTests: StoreTestCase {
    private var path: String { dir + "/store.sqlite" }

    private func record(_ n: Int) -> StoredRecord {
        StoredRecord(kind: "tool_call", startIsOffset: true, startValue: Int64(n), fragment: Array(#""name":"t\#(n)""#.utf8))
    }

    private struct Refused: Error {}

    /// A store with call "a" holding record 1, committed.
    private func writerWithCallA() throws -> StoreWriter {
        let writer = try StoreWriter(path: path, logger: Logger(label: "t"))
        try writer.perform { db in
            try Ledger.upsert(self.call("a"), in: db)
            try Ledger.append(self.record(1), callID: "a", in: db)
        }
        return writer
    }

    /// What the writer reads (by rowid) and what a reader scans (from the call's floor), as start values.
    private func seen(_ callID: String, _ writer: StoreWriter) throws -> (writer: [Int64], reader: [Int64]) {
        var viaWriter: [Int64] = []
        try writer.perform { db in viaWriter = try Ledger.records(callID: callID, in: db).map(\.startValue) }
        let reader = try StoreReader(path: path)
        return (viaWriter, try Ledger.records(callID: callID, in: reader.db).map(\.startValue))
    }

    func testRecordsOfInterleavedCallsAreReadBackPerCallInOrder() throws {
        let writer = try StoreWriter(path: path, logger: Logger(label: "t"))
        defer { writer.close() }
        try writer.perform { db in
            for id in ["a", "b", "c"] { try Ledger.upsert(self.call(id), in: db) }
            let appender = try Ledger.appender(in: db)
            for n in 0..<30 { try appender.append(self.record(n), callID: ["a", "b", "c"][n % 3]) }
        }
        let a = try seen("a", writer)
        XCTAssertEqual(a.writer, Array(stride(from: 0, to: 30, by: 3)))
        XCTAssertEqual(a.reader, a.writer)
        XCTAssertEqual(try seen("c", writer).writer, Array(stride(from: 2, to: 30, by: 3)))
        XCTAssertEqual(try seen("nobody", writer).writer, [])
        let reader = try StoreReader(path: path)
        XCTAssertEqual(try Ledger.recordCount(callID: "b", in: reader.db), 10)
        XCTAssertEqual(try Ledger.recordCounts(callID: "b", in: reader.db), ["tool_call": 10])
        let indexes = try reader.db.statement("SELECT count(*) FROM sqlite_master WHERE type='index' AND tbl_name='records'")
            .firstRow { $0.int64(0) }
        XCTAssertEqual(indexes, 0, "appends maintain no index on the call")
    }

    /// A failed operation's records are rolled back, and SQLite hands their rowids out again: the call must not
    /// see them twice, nor another call's record under a reused rowid.
    func testRecordsOfAFailedOperationAreNotFoundAndTheirRowidsAreReusedCleanly() throws {
        let writer = try StoreWriter(path: path, logger: Logger(label: "t"))
        defer { writer.close() }
        try writer.perform { db in for id in ["a", "b"] { try Ledger.upsert(self.call(id), in: db) } }
        try writer.perform { db in try Ledger.append(self.record(1), callID: "a", in: db) }
        XCTAssertThrowsError(try writer.perform { db in
            try Ledger.append(self.record(2), callID: "a", in: db)
            try Ledger.append(self.record(3), callID: "b", in: db)
            throw Refused()
        })
        try writer.perform { db in
            try Ledger.append(self.record(4), callID: "b", in: db) // takes the rowid record 2 had
            try Ledger.append(self.record(5), callID: "a", in: db) // takes the rowid record 3 had
        }
        let a = try seen("a", writer), b = try seen("b", writer)
        XCTAssertEqual(a.writer, [1, 5])
        XCTAssertEqual(b.writer, [4])
        XCTAssertEqual(a.reader, a.writer)
        XCTAssertEqual(b.reader, b.writer)
    }

    /// A flush that fails after closing the ledger leaves the call open with all its records.
    func testAFlushThatRollsBackKeepsTheCallsRecords() throws {
        let writer = try writerWithCallA()
        defer { writer.close() }
        XCTAssertThrowsError(try writer.perform { db in
            try Ledger.setFlushState(.flushed, callID: "a", atMs: 5, in: db)
            throw Refused()
        })
        XCTAssertEqual(try seen("a", writer).writer, [1])
        try writer.perform { db in try Ledger.setFlushState(.flushed, callID: "a", atMs: 6, in: db) }
        XCTAssertEqual(try seen("a", writer).reader, [1], "the rows stay until retention prunes them")
    }

    /// A commit that fails as a whole (the disk refused it) undoes what every operation in it taught the locator.
    func testACommitThatFailsTeachesTheLocatorNothing() throws {
        let writer = try writerWithCallA()
        defer { writer.close() }
        // An error SQLite counts as "unavailable" sinks the whole transaction, as a full disk does.
        XCTAssertThrowsError(try writer.perform { db in
            try Ledger.append(self.record(2), callID: "a", in: db)
            throw SQLiteError(code: SQLITE_FULL, message: "database or disk is full")
        })
        try writer.perform { db in try Ledger.append(self.record(3), callID: "a", in: db) }
        let a = try seen("a", writer)
        XCTAssertEqual(a.writer, [1, 3])
        XCTAssertEqual(a.reader, [1, 3])
    }

    /// After a restart the writer knows every open call's records again (read back once from the floors).
    func testOpenCallsRecordsAreFoundAfterARestart() throws {
        var writer: StoreWriter? = try StoreWriter(path: path, logger: Logger(label: "t"))
        try writer!.perform { db in
            try Ledger.upsert(self.call("done"), in: db)
            try Ledger.append(self.record(0), callID: "done", in: db)
            try Ledger.upsert(self.call("a"), in: db)
            for n in 1...3 { try Ledger.append(self.record(n), callID: n == 2 ? "done" : "a", in: db) }
            try Ledger.setFlushState(.flushed, callID: "done", atMs: 9, in: db)
        }
        writer!.close()
        writer = try StoreWriter(path: path, logger: Logger(label: "t"))
        defer { writer!.close() }
        try writer!.perform { db in
            try Ledger.append(self.record(4), callID: "a", in: db)
            XCTAssertEqual(db.recordLocator?.callCount, 1, "only open calls are kept")
        }
        XCTAssertEqual(try seen("a", writer!).writer, [1, 3, 4])
    }

    /// A record committed before its call's first write (the same commit, ahead of it): the call's floor is below
    /// it, so a restart reads it back. Without that the floor was the newest rowid, the record's own.
    func testARecordAheadOfItsCallsFirstWriteIsFoundAfterARestart() throws {
        var writer: StoreWriter? = try StoreWriter(path: path, logger: Logger(label: "t"))
        try writer!.perform { db in
            try Ledger.upsert(self.call("done"), in: db)
            try Ledger.append(self.record(0), callID: "done", in: db)
            try Ledger.setFlushState(.flushed, callID: "done", atMs: 9, in: db)
            try Ledger.append(self.record(1), callID: "a", in: db)
            try Ledger.upsert(self.call("a"), in: db)
            try Ledger.append(self.record(2), callID: "a", in: db)
        }
        writer!.close()
        writer = try StoreWriter(path: path, logger: Logger(label: "t"))
        defer { writer!.close() }
        XCTAssertEqual(try seen("a", writer!).writer, [1, 2])
        XCTAssertEqual(try seen("a", writer!).reader, [1, 2])
    }

    /// Pruning goes by rowid: a pruned call's record younger than a retained call's floor waits for that call.
    func testPruningKeepsEveryRecordOfCallsThatStay() throws {
        let writer = try StoreWriter(path: path, logger: Logger(label: "t"))
        defer { writer.close() }
        try writer.perform { db in
            try Ledger.upsert(self.call("old"), in: db)
            try Ledger.append(self.record(1), callID: "old", in: db)
            try Ledger.upsert(self.call("open"), in: db)
            try Ledger.append(self.record(2), callID: "old", in: db)
            try Ledger.append(self.record(3), callID: "open", in: db)
            try Ledger.setFlushState(.flushed, callID: "old", atMs: 1_000, in: db)
            try Ledger.prune(flushedBeforeMs: 5_000, in: db)
        }
        let reader = try StoreReader(path: path)
        var values: [Int64] = []
        try reader.db.statement("SELECT start_value FROM records ORDER BY id").forEachRow { values.append($0.int64(0)) }
        XCTAssertEqual(values, [2, 3], "record 1 is below the open call's floor; record 2 is not")
        XCTAssertEqual(try seen("open", writer).writer, [3])
        try writer.perform { db in
            try Ledger.setFlushState(.flushed, callID: "open", atMs: 2_000, in: db)
            try Ledger.upsert(self.call("new"), in: db)
            try Ledger.prune(flushedBeforeMs: 5_000, in: db)
            try Ledger.append(self.record(4), callID: "new", in: db)
        }
        values = []
        try reader.db.statement("SELECT start_value FROM records ORDER BY id").forEachRow { values.append($0.int64(0)) }
        XCTAssertEqual(values, [3, 4], "the newest record stays, so the new call's rowids stay above its floor")
        XCTAssertEqual(try seen("new", writer).reader, [4])
    }

    /// A store written by the release before (records indexed by call, no floors) opens, keeps its data and sheds the index.
    func testASchemaVersion1StoreIsMigrated() throws {
        let old = try SQLiteConnection(path: path)
        try old.execute("""
            CREATE TABLE calls(call_id TEXT PRIMARY KEY, simulation_result_id TEXT, from_header TEXT NOT NULL,
              to_header TEXT NOT NULL, local_tag TEXT NOT NULL, remote_tag TEXT, invited_at INTEGER NOT NULL,
              answered_at INTEGER, ended_at INTEGER, ended_by TEXT, end_reason TEXT, state TEXT NOT NULL,
              sip_headers BLOB NOT NULL, flush_state TEXT NOT NULL DEFAULT 'open', flushed_at INTEGER);
            CREATE TABLE records(id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, kind TEXT NOT NULL,
              start_is_offset INTEGER NOT NULL, start_value INTEGER NOT NULL, end_is_offset INTEGER, end_value INTEGER,
              fragment BLOB NOT NULL);
            CREATE INDEX records_call ON records(call_id, id);
            INSERT INTO calls(call_id, simulation_result_id, from_header, to_header, local_tag, invited_at, state, sip_headers)
              VALUES('a', 'sim-a', 'f', 't', 'l', 1, 'active', '{}');
            INSERT INTO records(call_id, kind, start_is_offset, start_value, fragment) VALUES('a', 'tool_call', 1, 7, 'x');
            INSERT INTO records(call_id, kind, start_is_offset, start_value, fragment) VALUES('a', 'tool_call', 1, 8, 'y');
            PRAGMA user_version=1;
            """)
        let writer = try StoreWriter(path: path, logger: Logger(label: "t"))
        defer { writer.close() }
        try writer.perform { db in try Ledger.append(self.record(9), callID: "a", in: db) }
        let a = try seen("a", writer)
        XCTAssertEqual(a.writer, [7, 8, 9])
        XCTAssertEqual(a.reader, [7, 8, 9])
        let reader = try StoreReader(path: path)
        XCTAssertEqual(try reader.db.statement("PRAGMA user_version").firstRow { $0.int64(0) }, StoreSchema.version)
        XCTAssertEqual(try reader.db.statement("SELECT count(*) FROM sqlite_master WHERE name='records_call'").firstRow { $0.int64(0) }, 0)
    }

    func testAStoreOfANewerReleaseIsRefusedUntouched() throws {
        let newer = try SQLiteConnection(path: path)
        try newer.execute("CREATE TABLE future(x); PRAGMA user_version=99;")
        XCTAssertThrowsError(try StoreWriter(path: path, logger: Logger(label: "t"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("schema version 99"), text)
            XCTAssertTrue(text.contains(self.path), "names the store: \(text)")
        }
        XCTAssertEqual(try newer.statement("SELECT count(*) FROM sqlite_master WHERE name='calls'").firstRow { $0.int64(0) }, 0,
                       "nothing was created in it")
    }
}
