/// The per-call ledger: calls and the agent's records, as SQL over one connection.
/// Writes run inside `StoreWriter` operations; reads on any connection.
public enum Ledger {
    static let callColumns = """
        call_id, simulation_result_id, from_header, to_header, local_tag, remote_tag, invited_at, answered_at,
        ended_at, ended_by, end_reason, state, sip_headers, flush_state
        """

    /// A call's later states change no indexed column, so they go in as an UPDATE of the columns that move: it
    /// writes the row's page alone, where the upsert also rewrites the call's entry in `calls_open` (and, before
    /// schema 4, in `calls_sim`: three pages to the log for one, one at a random place in a large index). The first
    /// write of a call, or one naming a new simulation result id, takes the upsert. Either way one statement
    /// changes the store: an UPDATE that matches no row writes nothing. A write of call state never changes the
    /// flush state (`setFlushState` does): SIP state written late, after a store outage, must not reopen a call
    /// already flushed, or it would be flushed twice.
    public static func upsert(_ call: StoredCall, in db: SQLiteConnection) throws {
        try db.statement("""
            UPDATE calls SET remote_tag=?1, answered_at=?2, ended_at=?3, ended_by=?4, end_reason=?5, state=?6
            WHERE call_id=?7 AND (?8 IS NULL OR simulation_result_id IS ?8)
            """)
            .bind(1, call.remoteTag).bind(2, call.answeredAtMs).bind(3, call.endedAtMs).bind(4, call.endedBy)
            .bind(5, call.endReason).bind(6, call.state.rawValue).bind(7, call.callID).bind(8, call.simulationResultID).run()
        guard db.changes == 0 else { return }
        // The floor is below the call's own records when some came first (a record in the same commit as the
        // call's first write, ahead of it): a restart reads records back from the lowest floor of the open calls.
        let firstRecord = db.recordLocator?.rowids(of: call.callID).first
        let stmt = try db.statement("""
            INSERT INTO calls(\(callColumns), record_floor)
            VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,min((SELECT coalesce(max(id), 0) FROM records), ?15))
            ON CONFLICT(call_id) DO UPDATE SET
              simulation_result_id=coalesce(excluded.simulation_result_id, calls.simulation_result_id), remote_tag=excluded.remote_tag,
              answered_at=excluded.answered_at, ended_at=excluded.ended_at, ended_by=excluded.ended_by,
              end_reason=excluded.end_reason, state=excluded.state
            """)
        stmt.bind(1, call.callID).bind(2, call.simulationResultID).bind(3, call.fromHeader).bind(4, call.toHeader)
            .bind(5, call.localTag).bind(6, call.remoteTag).bind(7, call.invitedAtMs).bind(8, call.answeredAtMs)
            .bind(9, call.endedAtMs).bind(10, call.endedBy).bind(11, call.endReason).bind(12, call.state.rawValue)
            .bind(13, blob: call.sipHeadersJSON).bind(14, call.flushState.rawValue).bind(15, firstRecord.map { $0 - 1 } ?? Int64.max)
        try stmt.run()
    }

    public static func setSimulationResultID(_ id: String, callID: String, in db: SQLiteConnection) throws {
        try db.statement("UPDATE calls SET simulation_result_id=? WHERE call_id=?").bind(1, id).bind(2, callID).run()
    }

    public static func setFlushState(_ state: StoredCall.FlushState, callID: String, atMs: Int64, in db: SQLiteConnection) throws {
        try db.statement("UPDATE calls SET flush_state=?, flushed_at=? WHERE call_id=?")
            .bind(1, state.rawValue).bind(2, atMs).bind(3, callID).run()
        if state != .open { db.recordLocator?.forget(callID) }
    }

    /// Appends one record; returns its id (records keep arrival order by id).
    @discardableResult
    public static func append(_ record: StoredRecord, callID: String, in db: SQLiteConnection) throws -> Int64 {
        try appender(in: db).append(record, callID: callID)
    }

    /// The append statement, looked up once for a batch of records.
    public static func appender(in db: SQLiteConnection) throws -> Appender {
        Appender(db: db, stmt: try db.statement("""
            INSERT INTO records(call_id, kind, start_is_offset, start_value, end_is_offset, end_value, fragment)
            VALUES(?,?,?,?,?,?,?)
            """))
    }

    /// Appends records with one prepared statement; every parameter is bound for each record.
    public struct Appender {
        let db: SQLiteConnection
        let stmt: SQLiteStatement

        /// Appends one record; returns its id (records keep arrival order by id).
        @discardableResult
        public func append(_ record: StoredRecord, callID: String) throws -> Int64 {
            try stmt.withBorrowed(text: 1, callID, blob: 7, record.fragment) { stmt in
                stmt.bind(2, record.kind).bind(3, Int64(record.startIsOffset ? 1 : 0)).bind(4, record.startValue)
                    .bind(5, record.endIsOffset.map { Int64($0 ? 1 : 0) }).bind(6, record.endValue)
                try stmt.run()
                let rowid = db.lastInsertRowID
                db.recordLocator?.appended(rowid, to: callID)
                return rowid
            }
        }
    }

    public static func call(_ callID: String, in db: SQLiteConnection) throws -> StoredCall? {
        try db.statement("SELECT \(callColumns) FROM calls WHERE call_id=?").bind(1, callID).firstRow(mapCall)
    }

    /// The call's records in arrival order. On the writer's connection, read by rowid (`RecordLocator`);
    /// elsewhere (admin API, tests), scanned from the call's `record_floor`, since the table has no call index.
    public static func records(callID: String, in db: SQLiteConnection) throws -> [StoredRecord] {
        var out: [StoredRecord] = []
        let map = { (row: SQLiteRow) in
            out.append(StoredRecord(id: row.int64(0), kind: row.string(1) ?? "", startIsOffset: row.int64(2) != 0,
                                    startValue: row.int64(3), endIsOffset: row.optionalInt64(4).map { $0 != 0 },
                                    endValue: row.optionalInt64(5), fragment: row.blob(6)))
        }
        let columns = "id, kind, start_is_offset, start_value, end_is_offset, end_value, fragment"
        if let locator = db.recordLocator {
            let rowids = locator.rowids(of: callID)
            out.reserveCapacity(rowids.count)
            let stmt = try db.statement("SELECT \(columns) FROM records WHERE id=?")
            for rowid in rowids { try stmt.bind(1, rowid).forEachRow(map) }
        } else {
            try db.statement("SELECT \(columns) FROM records WHERE \(ofCall) ORDER BY id").bind(1, callID).forEachRow(map)
        }
        return out
    }

    /// The call's rows, for reads off the writer: rowids above the call's floor (all of its records are), then by call.
    static let ofCall = "id>coalesce((SELECT record_floor FROM calls WHERE call_id=?1), 0) AND call_id=?1"

    public static func recordCount(callID: String, in db: SQLiteConnection) throws -> Int {
        Int(try db.statement("SELECT count(*) FROM records WHERE \(ofCall)").bind(1, callID).firstRow { $0.int64(0) } ?? 0)
    }

    /// The ids of the calls whose ledger is open.
    static func openCallIDs(in db: SQLiteConnection) throws -> Set<String> {
        var open: Set<String> = []
        try db.statement("SELECT call_id FROM calls WHERE flush_state='open'").forEachRow { row in
            if let callID = row.string(0) { open.insert(callID) }
        }
        return open
    }

    /// Calls whose data has not gone out yet: what a restart must pick up again.
    public static func openCalls(in db: SQLiteConnection) throws -> [StoredCall] {
        var out: [StoredCall] = []
        try db.statement("SELECT \(callColumns) FROM calls WHERE flush_state='open' ORDER BY invited_at")
            .forEachRow { out.append(try mapCall($0)) }
        return out
    }

    /// Drops calls flushed before `cutoffMs` (their body lives on in the outbox) and their records. Records go
    /// by rowid, up to the oldest floor of the calls that stay (each of their records is above it): a record of
    /// a pruned call that is younger than a call still open or retained goes in a later prune, with that call.
    /// The newest record always stays, so rowids keep rising above every later call's floor.
    public static func prune(flushedBeforeMs cutoffMs: Int64, in db: SQLiteConnection) throws {
        try db.statement("DELETE FROM calls WHERE flush_state!='open' AND flushed_at<?").bind(1, cutoffMs).run()
        // The oldest call has the lowest floor (floors only rise, calls keep their rowid), so no scan of `calls`.
        try db.statement("""
            DELETE FROM records
            WHERE id<=coalesce((SELECT record_floor FROM calls ORDER BY rowid LIMIT 1), (SELECT max(id) FROM records))
              AND id<(SELECT max(id) FROM records)
            """).run()
        if let locator = db.recordLocator { locator.keepOnly(try openCallIDs(in: db)) }
    }

    static func mapCall(_ row: SQLiteRow) throws -> StoredCall {
        StoredCall(callID: row.string(0) ?? "", simulationResultID: row.string(1), fromHeader: row.string(2) ?? "",
                   toHeader: row.string(3) ?? "", localTag: row.string(4) ?? "", remoteTag: row.string(5),
                   invitedAtMs: row.int64(6), answeredAtMs: row.optionalInt64(7), endedAtMs: row.optionalInt64(8),
                   endedBy: row.string(9), endReason: row.string(10),
                   state: StoredCall.State(rawValue: row.string(11) ?? "") ?? .ended,
                   sipHeadersJSON: row.blob(12),
                   flushState: StoredCall.FlushState(rawValue: row.string(13) ?? "") ?? .open)
    }
}

extension Ledger {
    /// Record counts of a call by kind, for the admin API.
    public static func recordCounts(callID: String, in db: SQLiteConnection) throws -> [String: Int] {
        var out: [String: Int] = [:]
        try db.statement("SELECT kind, count(*) FROM records WHERE \(ofCall) GROUP BY kind").bind(1, callID)
            .forEachRow { out[$0.string(0) ?? ""] = Int($0.int64(1)) }
        return out
    }

    /// The most recent calls, newest first.
    public static func recentCalls(limit: Int, in db: SQLiteConnection) throws -> [StoredCall] {
        var out: [StoredCall] = []
        try db.statement("SELECT \(callColumns) FROM calls ORDER BY invited_at DESC LIMIT ?").bind(1, Int64(limit))
            .forEachRow { out.append(try mapCall($0)) }
        return out
    }
}

extension Ledger {
    /// Ends a call that has no SIP side (a ledger the agent opened with `start`).
    public static func end(callID: String, atMs: Int64, by: String, reason: String, in db: SQLiteConnection) throws {
        try db.statement("UPDATE calls SET state='ended', ended_at=?, ended_by=?, end_reason=? WHERE call_id=? AND state!='ended'")
            .bind(1, atMs).bind(2, by).bind(3, reason).bind(4, callID).run()
    }
}
