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

    var isEmpty: Bool { items.isEmpty }

    mutating func append(_ item: Item) { items.append(item) }

    mutating func removeAll() { items = [] }
}
