import CSQLite

/// The store's tables. Versioned with `PRAGMA user_version` so later releases can migrate forward.
enum StoreSchema {
    /// 2: `records` lost its index on the call (`RecordLocator` says why) and `calls` gained `record_floor`.
    /// 3: `calls_flush` (every call, by flush state) became `calls_open` (the open calls alone).
    /// 4: `calls_sim` is gone: no query read it (the call registry finds a call by its simulation result id), and
    /// every call's first write paid a page of it to the log.
    static let version: Int64 = 4

    static let statements: [String] = [
        """
        CREATE TABLE IF NOT EXISTS calls(
            call_id TEXT PRIMARY KEY,
            simulation_result_id TEXT,
            from_header TEXT NOT NULL,
            to_header TEXT NOT NULL,
            local_tag TEXT NOT NULL,
            remote_tag TEXT,
            invited_at INTEGER NOT NULL,
            answered_at INTEGER,
            ended_at INTEGER,
            ended_by TEXT,
            end_reason TEXT,
            state TEXT NOT NULL,
            sip_headers BLOB NOT NULL,
            flush_state TEXT NOT NULL DEFAULT 'open',
            flushed_at INTEGER,
            record_floor INTEGER NOT NULL DEFAULT 0
        )
        """,
        // Only `flush_state='open'` is looked up (start-up, prune), so only open calls are indexed: a flush deletes
        // the call's entry instead of moving it, and the index stays as small as the live calls.
        "CREATE INDEX IF NOT EXISTS calls_open ON calls(invited_at) WHERE flush_state='open'",
        """
        CREATE TABLE IF NOT EXISTS records(
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            start_is_offset INTEGER NOT NULL,
            start_value INTEGER NOT NULL,
            end_is_offset INTEGER,
            end_value INTEGER,
            fragment BLOB NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS outbox(
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL,
            simulation_result_id TEXT NOT NULL,
            body BLOB NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_status INTEGER,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS outbox_sim ON outbox(simulation_result_id)",
        """
        CREATE TABLE IF NOT EXISTS webhook_events(
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            subject_id TEXT,
            body BLOB NOT NULL,
            received_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS results(
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            status TEXT,
            goal_success INTEGER,
            hallucination INTEGER,
            p50_agent_latency_ms REAL,
            p90_agent_latency_ms REAL,
            event_id INTEGER NOT NULL,
            received_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS outbound_numbers(
            e164 TEXT NOT NULL,
            simulation_result_id TEXT NOT NULL,
            call_id TEXT,
            created_at INTEGER NOT NULL,
            PRIMARY KEY(e164, simulation_result_id)
        )
        """,
    ]

    /// Schema 1's `calls.record_floor` column was absent: 0 is right for its calls (every rowid is above it).
    static let fromVersion1: [String] = [
        "ALTER TABLE calls ADD COLUMN record_floor INTEGER NOT NULL DEFAULT 0",
        "DROP INDEX IF EXISTS records_call",
    ]

    /// Schema 2's `calls_flush` indexed every call; `statements` creates `calls_open` in its place.
    static let fromVersion2: [String] = [
        "DROP INDEX IF EXISTS calls_flush",
    ]

    /// Schemas 1 to 3 indexed calls by simulation result id, which nothing looks up in the store.
    static let fromVersion3: [String] = [
        "DROP INDEX IF EXISTS calls_sim",
    ]

    /// WAL with full sync: a commit is on disk before anyone is told `ok`, and readers never block the writer.
    /// (`StoreWriter` lowers it to NORMAL for a commit no one is told about, and syncs the log later.)
    /// Creates the tables or migrates an older store forward; a store of a newer release is refused, not rewritten.
    static func apply(to db: SQLiteConnection) throws {
        try configureWriter(db)
        let found = try db.statement("PRAGMA user_version").firstRow { $0.int64(0) } ?? 0
        guard found <= version else {
            throw SQLiteError(code: SQLITE_ERROR, message: "the store has schema version \(found), newer than this "
                              + "release's \(version): run the release that wrote it, or start with a new store")
        }
        // Run even when the schema is current: the write proves at start-up that the store can be written.
        try db.transaction {
            if found == 1 { for sql in fromVersion1 { try db.execute(sql) } }
            if found == 1 || found == 2 { for sql in fromVersion2 { try db.execute(sql) } }
            if found < 4 { for sql in fromVersion3 { try db.execute(sql) } }
            for sql in statements { try db.execute(sql) }
            try db.execute("PRAGMA user_version=\(version)")
        }
    }

    /// Settings of the writing connection; they write nothing once the store exists (a reopen on a full disk works).
    static func configureWriter(_ db: SQLiteConnection) throws {
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("PRAGMA synchronous=FULL")
        try db.execute("PRAGMA foreign_keys=OFF")
    }

    /// Settings for connections that only read.
    static func configureReader(_ db: SQLiteConnection) throws {
        try db.execute("PRAGMA query_only=ON")
    }
}
