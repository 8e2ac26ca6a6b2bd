/// A read-only connection for one thread (WAL lets it read while the writer commits).
public final class StoreReader {
    public let db: SQLiteConnection

    public init(path: String) throws {
        db = try SQLiteConnection(path: path, readOnly: true)
        try StoreSchema.configureReader(db)
    }
}
