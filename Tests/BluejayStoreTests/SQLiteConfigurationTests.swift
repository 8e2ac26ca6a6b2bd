import CSQLite
import Logging
import XCTest
@testable import BluejayStore

/// SQLite's process-wide settings, as the store opens its first connection.
final class SQLiteConfigurationTests: StoreTestCase {
    /// With memory statistics on, SQLite counts every allocation under a process-wide mutex; off, it counts none.
    func testMemoryStatisticsAreOff() throws {
        let writer = try StoreWriter(path: dir + "/s.sqlite", logger: Logger(label: "t"))
        defer { writer.close() }
        let done = DispatchSemaphore(value: 0)
        writer.submit({ db in try Ledger.upsert(self.call("c1"), in: db) }, completion: { error in
            XCTAssertNil(error)
            done.signal()
        })
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        let reader = try StoreReader(path: dir + "/s.sqlite")
        XCTAssertNotNil(try Ledger.call("c1", in: reader.db), "SQLite allocated: a connection, a schema, a row")
        XCTAssertTrue(SQLiteConnection.configured)
        XCTAssertEqual(sqlite3_memory_used(), 0, "SQLite kept no count of its memory")
    }
}
