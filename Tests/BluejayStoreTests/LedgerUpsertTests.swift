import XCTest
@testable import BluejayStore

/// A call's row over its life, and what each of its writes costs in pages of the log.
final class LedgerUpsertTests: StoreTestCase {
    private var db: SQLiteConnection!
    private var path: String { dir + "/store.sqlite" }

    override func setUp() {
        super.setUp()
        db = try! SQLiteConnection(path: path)
        try! StoreSchema.apply(to: db)
        try! db.execute("PRAGMA wal_autocheckpoint=0")
    }

    override func tearDown() {
        db = nil
        super.tearDown()
    }

    private func stored(_ id: String) throws -> StoredCall? {
        try db.statement("SELECT \(Ledger.callColumns) FROM calls WHERE call_id=?").bind(1, id).firstRow { try Ledger.mapCall($0) }
    }

    /// Pages `write` appends to the log, from an empty log: by the log's size, and as SQLite counts them for
    /// `bluejay_sidecar_store_log_pages_total` (`takeLogPagesWritten`), which must agree.
    private func logPages(_ write: () throws -> Void) throws -> Int {
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _ = db.takeLogPagesWritten()
        try write()
        let size = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        let pageSize = Int(try db.statement("PRAGMA page_size").firstRow { $0.int64(0) } ?? 0)
        let pages = size == 0 ? 0 : (size - 32) / (24 + pageSize) // the log's header, then a frame header per page
        XCTAssertEqual(db.takeLogPagesWritten(), pages, "SQLite's count of pages written and the log's size disagree")
        return pages
    }

    func testEveryStateOfACallIsKeptAsTheUpsertAlwaysKeptIt() throws {
        var c = call("a")
        c.state = .ringing
        c.answeredAtMs = nil
        try Ledger.upsert(c, in: db)
        XCTAssertEqual(try stored("a"), c)

        c.state = .active
        c.answeredAtMs = 1_100
        c.remoteTag = "r2"
        try Ledger.upsert(c, in: db)
        XCTAssertEqual(try stored("a"), c)

        // No simulation result id in a later state keeps the one stored.
        var withoutID = c
        withoutID.simulationResultID = nil
        withoutID.state = .ended
        withoutID.endedAtMs = 2_000
        withoutID.endedBy = "caller"
        withoutID.endReason = "bye"
        try Ledger.upsert(withoutID, in: db)
        var expected = withoutID
        expected.simulationResultID = "sim-a"
        XCTAssertEqual(try stored("a"), expected)

        // A new id replaces it.
        expected.simulationResultID = "sim-other"
        try Ledger.upsert(expected, in: db)
        XCTAssertEqual(try stored("a"), expected)
        XCTAssertEqual(try db.statement("SELECT count(*) FROM calls").firstRow { $0.int64(0) }, 1)
    }

    /// The flush state is the flush's alone: call state written after the flush (SIP state the store refused
    /// during an outage, written again once it takes writes) does not reopen the call, which would be flushed
    /// a second time. Whether the write takes the UPDATE or the upsert (a new simulation result id).
    func testCallStateWrittenAfterTheFlushDoesNotReopenTheCall() throws {
        var c = call("a")
        try Ledger.upsert(c, in: db)
        try Ledger.setFlushState(.flushed, callID: "a", atMs: 3_000, in: db)
        c.state = .ended
        c.endedAtMs = 2_000
        c.endedBy = "caller"
        c.endReason = "bye"
        try Ledger.upsert(c, in: db)
        var expected = c
        expected.flushState = .flushed
        XCTAssertEqual(try stored("a"), expected)
        c.simulationResultID = "sim-other"
        expected.simulationResultID = "sim-other"
        try Ledger.upsert(c, in: db)
        XCTAssertEqual(try stored("a"), expected)
        XCTAssertEqual(try Ledger.openCalls(in: db).map(\.callID), [])
    }

    /// The point of the UPDATE: a later state writes the row's page and no index page; a flush adds one page,
    /// the open-calls index it leaves. (The upsert alone wrote three pages for the later state.)
    func testALaterStateWritesOnlyTheRowAndAFlushOnlyTheRowAndTheOpenIndex() throws {
        for i in 0..<200 { try Ledger.upsert(call("c\(i)"), in: db) }
        var c = call("c100")
        c.state = .ended
        c.endedAtMs = 2_000
        c.endedBy = "caller"
        XCTAssertEqual(try logPages { try Ledger.upsert(c, in: db) }, 1)
        XCTAssertEqual(try logPages { try Ledger.setFlushState(.flushed, callID: "c100", atMs: 3_000, in: db) }, 2)
        XCTAssertEqual(try Ledger.openCalls(in: db).count, 199)
        XCTAssertFalse(try Ledger.openCallIDs(in: db).contains("c100"))
    }

    /// A call's first write: the row, its primary key and its entry among the open calls. (Schema 3 wrote a
    /// fourth page, `calls_sim`, an index no query read.)
    func testACallsFirstWriteWritesTheRowAndTwoIndexPages() throws {
        for i in 0..<200 { try Ledger.upsert(call("c\(i)"), in: db) }
        XCTAssertEqual(try logPages { try Ledger.upsert(call("new"), in: db) }, 3)
    }

    func testTheOpenCallsAreFoundThroughThePartialIndex() throws {
        let plan = try db.statement("EXPLAIN QUERY PLAN SELECT call_id FROM calls WHERE flush_state='open'").firstRow { $0.string(3) } ?? nil
        XCTAssertTrue(plan?.contains("calls_open") == true, plan ?? "no plan")
    }

    /// Writes a store of an older schema with `build`, opens it as this release does (`StoreWriter`), and hands
    /// `check` a reader of the result and the names of the calls table's indexes.
    private func migrate(fromVersion version: Int, _ build: (SQLiteConnection) throws -> Void,
                         check: (SQLiteConnection, [String]) throws -> Void) throws {
        db = nil
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let old = try SQLiteConnection(path: path)
        try build(old)
        try old.execute("PRAGMA user_version=\(version)")

        let writer = try StoreWriter(path: path, logger: .init(label: "t"))
        defer { writer.close() }
        let reader = try StoreReader(path: path)
        var names: [String] = []
        try reader.db.statement("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='calls' ORDER BY name")
            .forEachRow { names.append($0.string(0) ?? "") }
        XCTAssertEqual(try reader.db.statement("PRAGMA user_version").firstRow { $0.int64(0) }, StoreSchema.version)
        try check(reader.db, names)
    }

    /// A store of schema 2 indexed every call by flush state: it opens with that index gone, the partial one in
    /// its place, and its calls as they were.
    func testASchemaVersion2StoreIsMigrated() throws {
        try migrate(fromVersion: 2, { old in
            for sql in StoreSchema.statements where !sql.contains("calls_open") { try old.execute(sql) }
            try old.execute("CREATE INDEX calls_flush ON calls(flush_state)")
            try Ledger.upsert(call("open"), in: old)
            var done = call("done")
            done.flushState = .flushed
            try Ledger.upsert(done, in: old)
        }, check: { reader, names in
            XCTAssertFalse(names.contains("calls_flush"), "\(names)")
            XCTAssertTrue(names.contains("calls_open"), "\(names)")
            XCTAssertEqual(try Ledger.openCalls(in: reader).map(\.callID), ["open"])
        })
    }

    /// A store of schema 3 indexed calls by simulation result id: it opens without that index, its calls as they were.
    func testASchemaVersion3StoreIsMigrated() throws {
        try migrate(fromVersion: 3, { old in
            for sql in StoreSchema.statements { try old.execute(sql) }
            try old.execute("CREATE INDEX calls_sim ON calls(simulation_result_id)")
            try Ledger.upsert(call("open"), in: old)
        }, check: { reader, names in
            XCTAssertEqual(names.filter { !$0.hasPrefix("sqlite_autoindex") }, ["calls_open"])
            XCTAssertEqual(StoreSchema.version, 4)
            XCTAssertEqual(try Ledger.openCalls(in: reader).map(\.callID), ["open"])
            XCTAssertEqual(try Ledger.call("open", in: reader)?.simulationResultID, "sim-open")
        })
    }
}
