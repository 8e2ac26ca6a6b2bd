/// The rowids of each open call's records, kept by the store writer so a flush reads its call's rows by rowid.
///
/// Why not an index on `records(call_id)`: every commit then dirtied one index page per live call, and with
/// 1,000 live calls an insert cost four times what the append alone costs (raw SQLite, WAL, synchronous=FULL:
/// 81,717 rows/s with the index, 343,124 without, 512 rows per commit). The table is appended in rowid order
/// and nothing else; where a call's records are is known here, and after a restart is read back once from the
/// table (`load`), starting at the oldest open call's `record_floor`.
///
/// Writer thread only. Changes are journaled until the transaction that made them commits, so a rolled-back
/// operation or commit leaves no rowid that is not in the table (SQLite hands a rolled-back rowid out again).
final class RecordLocator {
    private var ids: [String: [Int64]] = [:]
    private enum Change {
        case appended(String, createdList: Bool)
        case forgot(String, [Int64])
    }
    private var journal: [Change] = []

    /// Calls with a list (open calls that have records, and calls open at start-up); for tests.
    var callCount: Int { ids.count }

    /// The rowids of `callID`'s records in insertion order; empty when it has none.
    func rowids(of callID: String) -> [Int64] { ids[callID] ?? [] }

    func appended(_ rowid: Int64, to callID: String) {
        if ids[callID]?.append(rowid) != nil {
            journal.append(.appended(callID, createdList: false))
        } else {
            ids[callID] = [rowid]
            journal.append(.appended(callID, createdList: true))
        }
    }

    /// The call's ledger is closed (flushed or skipped): its records are no longer looked up by call.
    func forget(_ callID: String) {
        guard let list = ids.removeValue(forKey: callID) else { return }
        journal.append(.forgot(callID, list))
    }

    /// Forgets every call not in `open` (records written to a call after its flush, as a late SIP event may be).
    func keepOnly(_ open: Set<String>) {
        for callID in ids.keys where !open.contains(callID) { forget(callID) }
    }

    /// A point to roll back to: taken before each operation of a transaction.
    var mark: Int { journal.count }

    /// Undoes the changes made since `mark`, newest first.
    func rollback(to mark: Int) {
        while journal.count > mark {
            switch journal.removeLast() {
            case .appended(let callID, let createdList):
                if createdList { ids[callID] = nil } else { ids[callID]?.removeLast() }
            case .forgot(let callID, let list):
                ids[callID] = list
            }
        }
    }

    /// The transaction committed: its changes stay.
    func commit() { journal.removeAll(keepingCapacity: true) }

    /// Reads the open calls' records back from the table (start-up, before the writer thread runs).
    func load(from db: SQLiteConnection) throws {
        ids = [:]
        journal = []
        let open = try Ledger.openCallIDs(in: db)
        guard let floor = try db.statement("SELECT min(record_floor) FROM calls WHERE flush_state='open'")
            .firstRow({ $0.optionalInt64(0) }) ?? nil else { return }
        try db.statement("SELECT id, call_id FROM records WHERE id>? ORDER BY id").bind(1, floor).forEachRow { row in
            guard let callID = row.string(1), open.contains(callID) else { return }
            ids[callID, default: []].append(row.int64(0))
        }
    }
}
