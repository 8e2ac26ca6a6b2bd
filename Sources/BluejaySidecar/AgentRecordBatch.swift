import BluejayAgentProtocol
import BluejayStore

/// Records of one connection's read, bound for the store as one operation (and one commit's worth of replies).
struct AgentRecordBatch {
    struct Item {
        var callID: String
        var kind: AgentRecordKind
        var record: StoredRecord
    }

    private(set) var items: [Item] = []
    /// The registry's flush count read before the first record was found unflushed: while it has not moved,
    /// the writer need not check the calls again.
    private(set) var flushCount = 0

    var isEmpty: Bool { items.isEmpty }

    /// Starts an empty batch; `flushCount` is read before any of its records is resolved.
    mutating func begin(flushCount: Int) { self.flushCount = flushCount }

    mutating func append(_ item: Item) { items.append(item) }

    mutating func removeAll() { items = [] }
}
