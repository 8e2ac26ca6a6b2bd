/// The durable outbox: a body is written here before any attempt to send it, and leaves only as
/// delivered or as a dead letter with its reason. Writes run inside `StoreWriter` operations.
public enum Outbox {
    public struct Item: Equatable, Sendable {
        public var id: Int64
        public var callID: String
        public var simulationResultID: String
        public var body: [UInt8]
        public var state: String
        public var attempts: Int
        public var nextAttemptAtMs: Int64
        public var lastStatus: Int?
        public var lastError: String?
    }

    public enum State: String { case pending, delivered, dead }

    /// Returns the row as written, for the delivery worker to post without reading it back.
    @discardableResult
    public static func enqueue(callID: String, simulationResultID: String, body: [UInt8], nowMs: Int64,
                               in db: SQLiteConnection) throws -> Item {
        try db.statement("""
            INSERT INTO outbox(call_id, simulation_result_id, body, state, attempts, next_attempt_at, created_at, updated_at)
            VALUES(?,?,?,'pending',0,?,?,?)
            """).bind(1, callID).bind(2, simulationResultID).bind(3, blob: body).bind(4, nowMs).bind(5, nowMs)
            .bind(6, nowMs).run()
        return Item(id: db.lastInsertRowID, callID: callID, simulationResultID: simulationResultID, body: body, state: State.pending.rawValue,
                    attempts: 0, nextAttemptAtMs: nowMs, lastStatus: nil, lastError: nil)
    }

    /// Pending items due by `nowMs`, oldest due first, skipping ids already in flight.
    public static func due(nowMs: Int64, limit: Int, excluding: Set<Int64> = [], in db: SQLiteConnection) throws -> [Item] {
        var out: [Item] = []
        try db.statement("""
            SELECT \(itemColumns) FROM outbox WHERE state='pending' AND next_attempt_at<=? ORDER BY next_attempt_at, id LIMIT ?
            """).bind(1, nowMs).bind(2, Int64(limit + excluding.count)).forEachRow { row in
            let item = mapItem(row)
            if !excluding.contains(item.id) && out.count < limit { out.append(item) }
        }
        return out
    }

    /// When the next pending item falls due, if any.
    public static func nextDueMs(in db: SQLiteConnection) throws -> Int64? {
        try db.statement("SELECT min(next_attempt_at) FROM outbox WHERE state='pending'").firstRow { $0.optionalInt64(0) } ?? nil
    }

    public static func item(_ id: Int64, in db: SQLiteConnection) throws -> Item? {
        try db.statement("SELECT \(itemColumns) FROM outbox WHERE id=?").bind(1, id).firstRow(mapItem)
    }

    public static func items(state: State, limit: Int, in db: SQLiteConnection) throws -> [Item] {
        var out: [Item] = []
        try db.statement("SELECT \(itemColumns) FROM outbox WHERE state=? ORDER BY id LIMIT ?")
            .bind(1, state.rawValue).bind(2, Int64(limit)).forEachRow { out.append(mapItem($0)) }
        return out
    }

    public static func count(state: State, in db: SQLiteConnection) throws -> Int {
        Int(try db.statement("SELECT count(*) FROM outbox WHERE state=?").bind(1, state.rawValue).firstRow { $0.int64(0) } ?? 0)
    }

    public static func markDelivered(_ id: Int64, status: Int, attempts: Int, nowMs: Int64, in db: SQLiteConnection) throws {
        try db.statement("UPDATE outbox SET state='delivered', last_status=?, attempts=?, last_error=NULL, updated_at=? WHERE id=?")
            .bind(1, status).bind(2, attempts).bind(3, nowMs).bind(4, id).run()
    }

    public static func scheduleRetry(_ id: Int64, attempts: Int, nextAttemptAtMs: Int64, status: Int?, error: String,
                                     nowMs: Int64, in db: SQLiteConnection) throws {
        try db.statement("""
            UPDATE outbox SET attempts=?, next_attempt_at=?, last_status=?, last_error=?, updated_at=? WHERE id=? AND state='pending'
            """).bind(1, attempts).bind(2, nextAttemptAtMs).bind(3, status).bind(4, error).bind(5, nowMs).bind(6, id).run()
    }

    public static func markDead(_ id: Int64, attempts: Int, status: Int?, reason: String, nowMs: Int64, in db: SQLiteConnection) throws {
        try db.statement("UPDATE outbox SET state='dead', attempts=?, last_status=?, last_error=?, updated_at=? WHERE id=?")
            .bind(1, attempts).bind(2, status).bind(3, reason).bind(4, nowMs).bind(5, id).run()
    }

    /// Puts a dead letter back in line (an operator's retry).
    public static func requeue(_ id: Int64, nowMs: Int64, in db: SQLiteConnection) throws {
        try db.statement("UPDATE outbox SET state='pending', next_attempt_at=?, updated_at=? WHERE id=? AND state='dead'")
            .bind(1, nowMs).bind(2, nowMs).bind(3, id).run()
    }

    static let itemColumns = "id, call_id, simulation_result_id, body, state, attempts, next_attempt_at, last_status, last_error"

    static func mapItem(_ row: SQLiteRow) -> Item {
        Item(id: row.int64(0), callID: row.string(1) ?? "", simulationResultID: row.string(2) ?? "", body: row.blob(3),
             state: row.string(4) ?? "", attempts: Int(row.int64(5)), nextAttemptAtMs: row.int64(6),
             lastStatus: row.optionalInt64(7).map(Int.init), lastError: row.string(8))
    }
}

extension Outbox {
    /// The latest body sent (or to be sent) for a simulation result, for setting beside Bluejay's evaluation.
    public static func latestBody(simulationResultID: String, in db: SQLiteConnection) throws -> [UInt8]? {
        try db.statement("SELECT body FROM outbox WHERE simulation_result_id=? ORDER BY id DESC LIMIT 1")
            .bind(1, simulationResultID).firstRow { $0.blob(0) }
    }

    /// The latest outbox row of a call.
    public static func latest(callID: String, in db: SQLiteConnection) throws -> Item? {
        try db.statement("SELECT \(itemColumns) FROM outbox WHERE call_id=? ORDER BY id DESC LIMIT 1").bind(1, callID).firstRow(mapItem)
    }

    /// Items by state for the admin API; `retrying` are pending items that failed at least once.
    public static func list(state: State, retrying: Bool? = nil, limit: Int, in db: SQLiteConnection) throws -> [Item] {
        var sql = "SELECT \(itemColumns) FROM outbox WHERE state=?"
        if let retrying { sql += retrying ? " AND attempts>0" : " AND attempts=0" }
        sql += " ORDER BY id LIMIT ?"
        var out: [Item] = []
        try db.statement(sql).bind(1, state.rawValue).bind(2, Int64(limit)).forEachRow { out.append(mapItem($0)) }
        return out
    }

    public static func countRetrying(in db: SQLiteConnection) throws -> Int {
        Int(try db.statement("SELECT count(*) FROM outbox WHERE state='pending' AND attempts>0").firstRow { $0.int64(0) } ?? 0)
    }

    /// Makes a pending or dead item due now; returns its state before, or nil if there is no such item.
    public static func retryNow(_ id: Int64, nowMs: Int64, in db: SQLiteConnection) throws -> State? {
        guard let item = try item(id, in: db), let state = State(rawValue: item.state) else { return nil }
        if state != .delivered {
            try db.statement("UPDATE outbox SET state='pending', next_attempt_at=?, updated_at=? WHERE id=?")
                .bind(1, nowMs).bind(2, nowMs).bind(3, id).run()
        }
        return state
    }
}

extension Outbox {
    /// Drops delivered rows last touched before `cutoffMs`; dead letters stay until an operator deals with them.
    public static func pruneDelivered(beforeMs cutoffMs: Int64, in db: SQLiteConnection) throws {
        try db.statement("DELETE FROM outbox WHERE state='delivered' AND updated_at<?").bind(1, cutoffMs).run()
    }
}
