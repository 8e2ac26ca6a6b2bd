import BluejayJSON

/// A JSON object's members indexed by key, with the object's path for error messages.
struct WebhookObject {
    let path: String
    private var index: [String: RawJSON] = [:]
    /// Keys present more than once. Looking one up is an error: RawJSON's subscript reads the first,
    /// Python (and so the schema check) the last, and the two must not disagree on what was sent.
    private var duplicates: Set<String> = []

    init(_ members: [(key: String, value: RawJSON)], path: String) {
        self.path = path
        index.reserveCapacity(members.count)
        for m in members where index.updateValue(m.value, forKey: m.key) != nil {
            duplicates.insert(m.key)
        }
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member `key`, nil when absent.
    func member(_ key: String) throws(WebhookError) -> WebhookField? {
        guard !duplicates.contains(key) else {
            throw WebhookError(field: childPath(key), message: "`\(childPath(key))` appears more than once")
        }
        return index[key].map { WebhookField($0, path: childPath(key)) }
    }

    /// The member `key`, which the schema requires (it may still be null where the schema allows that).
    func required(_ key: String) throws(WebhookError) -> WebhookField {
        guard let f = try member(key) else {
            throw WebhookError(field: childPath(key), message: "`\(childPath(key))` is required but missing")
        }
        return f
    }

    /// The member `key` unless absent or null: for optional, nullable fields.
    func present(_ key: String) throws(WebhookError) -> WebhookField? {
        guard let f = try member(key), !f.value.isNull else { return nil }
        return f
    }
}
