/// Bluejay's webhook events, the evaluations they carry, and the numbers of outbound simulations.
/// Writes run inside `StoreWriter` operations; reads on any connection.
public enum WebhookStore {
    /// Stores an event once per body digest; returns its row id, or nil when the same body was stored before.
    public static func insertEvent(digest: String, type: String, subjectID: String?, body: [UInt8], nowMs: Int64,
                                   in db: SQLiteConnection) throws -> Int64? {
        try db.statement("""
            INSERT OR IGNORE INTO webhook_events(digest, type, subject_id, body, received_at) VALUES(?,?,?,?,?)
            """).bind(1, digest).bind(2, type).bind(3, subjectID).bind(4, blob: body).bind(5, nowMs).run()
        return db.changes > 0 ? db.lastInsertRowID : nil
    }

    public struct Result: Equatable, Sendable {
        public var id: String
        public var kind: String
        public var status: String?
        public var goalSuccess: Bool?
        public var hallucination: Bool?
        public var p50AgentLatencyMs: Double?
        public var p90AgentLatencyMs: Double?
        public var eventID: Int64
        public var receivedAtMs: Int64

        public init(id: String, kind: String, status: String?, goalSuccess: Bool?, hallucination: Bool?,
                    p50AgentLatencyMs: Double?, p90AgentLatencyMs: Double?, eventID: Int64, receivedAtMs: Int64) {
            self.id = id
            self.kind = kind
            self.status = status
            self.goalSuccess = goalSuccess
            self.hallucination = hallucination
            self.p50AgentLatencyMs = p50AgentLatencyMs
            self.p90AgentLatencyMs = p90AgentLatencyMs
            self.eventID = eventID
            self.receivedAtMs = receivedAtMs
        }
    }

    /// The latest evaluation of a simulation result (or observed call) replaces an earlier one.
    public static func upsertResult(_ r: Result, in db: SQLiteConnection) throws {
        try db.statement("""
            INSERT OR REPLACE INTO results(id, kind, status, goal_success, hallucination, p50_agent_latency_ms,
              p90_agent_latency_ms, event_id, received_at) VALUES(?,?,?,?,?,?,?,?,?)
            """).bind(1, r.id).bind(2, r.kind).bind(3, r.status).bind(4, r.goalSuccess.map { Int64($0 ? 1 : 0) })
            .bind(5, r.hallucination.map { Int64($0 ? 1 : 0) }).bind(6, r.p50AgentLatencyMs).bind(7, r.p90AgentLatencyMs)
            .bind(8, r.eventID).bind(9, r.receivedAtMs).run()
    }

    public static func result(_ id: String, in db: SQLiteConnection) throws -> Result? {
        try db.statement("SELECT \(resultColumns) FROM results WHERE id=?").bind(1, id).firstRow(mapResult)
    }

    public static func recentResults(limit: Int, in db: SQLiteConnection) throws -> [Result] {
        var out: [Result] = []
        try db.statement("SELECT \(resultColumns) FROM results ORDER BY received_at DESC, event_id DESC LIMIT ?")
            .bind(1, Int64(limit)).forEachRow { out.append(mapResult($0)) }
        return out
    }

    public static func eventBody(_ eventID: Int64, in db: SQLiteConnection) throws -> [UInt8]? {
        try db.statement("SELECT body FROM webhook_events WHERE id=?").bind(1, eventID).firstRow { $0.blob(0) }
    }

    /// Remembers the simulation result ids Bluejay will use when the agent dials `e164`.
    public static func addOutboundNumbers(e164: String, simulationResultIDs: [String], nowMs: Int64, in db: SQLiteConnection) throws {
        let stmt = "INSERT OR IGNORE INTO outbound_numbers(e164, simulation_result_id, created_at) VALUES(?,?,?)"
        for id in simulationResultIDs { try db.statement(stmt).bind(1, e164).bind(2, id).bind(3, nowMs).run() }
    }

    /// Marks an outbound id as taken by a call, so a restart does not hand it out again.
    public static func claimOutbound(e164: String, simulationResultID: String, callID: String, in db: SQLiteConnection) throws {
        try db.statement("UPDATE outbound_numbers SET call_id=? WHERE e164=? AND simulation_result_id=?")
            .bind(1, callID).bind(2, e164).bind(3, simulationResultID).run()
    }

    /// Every outbound id by number, in the order they arrived, and whether a call took it: a restart must know
    /// the taken ones too, or an announcement that lists one again would hand it out a second time.
    public static func outboundNumbers(in db: SQLiteConnection) throws -> [(e164: String, simulationResultID: String, claimed: Bool)] {
        var out: [(String, String, Bool)] = []
        try db.statement("SELECT e164, simulation_result_id, call_id IS NOT NULL FROM outbound_numbers ORDER BY created_at, rowid")
            .forEachRow { out.append(($0.string(0) ?? "", $0.string(1) ?? "", $0.int64(2) != 0)) }
        return out
    }

    private static let resultColumns = "id, kind, status, goal_success, hallucination, p50_agent_latency_ms, p90_agent_latency_ms, event_id, received_at"

    private static func mapResult(_ row: SQLiteRow) -> Result {
        Result(id: row.string(0) ?? "", kind: row.string(1) ?? "", status: row.string(2),
               goalSuccess: row.optionalInt64(3).map { $0 != 0 }, hallucination: row.optionalInt64(4).map { $0 != 0 },
               p50AgentLatencyMs: row.optionalDouble(5), p90AgentLatencyMs: row.optionalDouble(6),
               eventID: row.int64(7), receivedAtMs: row.int64(8))
    }
}
