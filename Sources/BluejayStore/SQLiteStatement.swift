import CSQLite

/// A prepared statement with typed binds and column reads; indexes are 1-based for binds, 0-based for columns, as in SQLite.
public final class SQLiteStatement {
    let stmt: OpaquePointer
    unowned let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    @discardableResult
    public func bind(_ index: Int32, _ value: String?) -> Self {
        if let value {
            var v = value
            v.withUTF8 { buf in
                buf.withMemoryRebound(to: CChar.self) { chars in
                    _ = bj_sqlite3_bind_text_transient(stmt, index, chars.baseAddress ?? UnsafePointer(bitPattern: 1)!, Int32(chars.count))
                }
            }
        } else {
            sqlite3_bind_null(stmt, index)
        }
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, _ value: Int64?) -> Self {
        if let value { sqlite3_bind_int64(stmt, index, value) } else { sqlite3_bind_null(stmt, index) }
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, _ value: Int?) -> Self { bind(index, value.map(Int64.init)) }

    @discardableResult
    public func bind(_ index: Int32, _ value: Double?) -> Self {
        if let value { sqlite3_bind_double(stmt, index, value) } else { sqlite3_bind_null(stmt, index) }
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, blob: [UInt8]?) -> Self {
        // Over 2 GiB (Int32) cannot be bound: NULL instead, which a NOT NULL column refuses as an error (a trap
        // here would end the process, again at every restart that retried the write).
        if let blob, let count = Int32(exactly: blob.count) {
            blob.withUnsafeBytes { buf in
                _ = bj_sqlite3_bind_blob_transient(stmt, index, buf.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count)
            }
        } else {
            sqlite3_bind_null(stmt, index)
        }
        return self
    }

    /// Binds `text` and `blob` without SQLite copying them (they are only valid inside this call), runs
    /// `body` (which binds the rest and steps), then unbinds them: for hot inserts whose values are large.
    public func withBorrowed<T>(text index: Int32, _ text: String, blob blobIndex: Int32, _ blob: [UInt8],
                                _ body: (SQLiteStatement) throws -> T) rethrows -> T {
        var text = text
        defer { sqlite3_clear_bindings(stmt) }
        return try text.withUTF8 { chars in
            try blob.withUnsafeBytes { bytes in
                sqlite3_bind_text(stmt, index, chars.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                    ?? UnsafePointer(bitPattern: 1)!, Int32(chars.count), nil)
                sqlite3_bind_blob(stmt, blobIndex, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, Int32(bytes.count), nil)
                return try body(self)
            }
        }
    }

    /// Steps a statement that returns no rows.
    public func run() throws {
        let rc = sqlite3_step(stmt)
        defer { sqlite3_reset(stmt) }
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw connection.lastError(rc) }
    }

    /// Steps through every row; `row` reads the current one.
    public func forEachRow(_ row: (SQLiteRow) throws -> Void) throws {
        defer { sqlite3_reset(stmt) }
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw connection.lastError(rc) }
            try row(SQLiteRow(stmt: stmt))
        }
    }

    /// The first row mapped by `map`, or nil.
    public func firstRow<T>(_ map: (SQLiteRow) throws -> T) throws -> T? {
        var result: T?
        defer { sqlite3_reset(stmt) }
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { result = try map(SQLiteRow(stmt: stmt)) } else if rc != SQLITE_DONE { throw connection.lastError(rc) }
        return result
    }
}

/// The current row of a stepping statement.
public struct SQLiteRow {
    let stmt: OpaquePointer

    public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
    public func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    public func optionalInt64(_ i: Int32) -> Int64? { isNull(i) ? nil : int64(i) }
    public func optionalDouble(_ i: Int32) -> Double? { isNull(i) ? nil : sqlite3_column_double(stmt, i) }
    public func string(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, i) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, i))
        return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
    }
    public func blob(_ i: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, i))
        guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}
