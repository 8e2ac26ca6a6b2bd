import BluejayJSON

/// A JSON value together with the path that reached it, so every check names the field it rejects.
///
/// The checks follow JSON Schema's meaning of each type (as python-jsonschema applies it) and are
/// never stricter than Bluejay's schema for a field they check: an `integer` is any number with no
/// fractional part (`3.0` counts), `boolean` is not a number, nullable fields accept `null`.
struct WebhookField {
    let value: RawJSON
    let path: String

    init(_ value: RawJSON, path: String) {
        self.value = value
        self.path = path
    }

    func error(_ expected: String) -> WebhookError {
        WebhookError(field: path, message: "\(path.isEmpty ? "the body" : "`\(path)`") must be \(expected), got \(WebhookField.noun(value.kind))")
    }

    /// This value as an object, indexed once so each lookup is cheap.
    func object() throws(WebhookError) -> WebhookObject {
        guard let members = value.members else { throw error("an object") }
        return WebhookObject(members, path: path)
    }

    // MARK: scalars

    func string() throws(WebhookError) -> String {
        guard let s = value.string else { throw error("a string") }
        return s
    }

    func stringOrNull() throws(WebhookError) -> String? {
        if value.isNull { return nil }
        guard let s = value.string else { throw error("a string or null") }
        return s
    }

    func boolOrNull() throws(WebhookError) -> Bool? {
        if value.isNull { return nil }
        guard let b = value.bool else { throw error("a boolean or null") }
        return b
    }

    /// A number; nil for null or for a value beyond Double's range (which the schema still calls a number).
    func numberOrNull() throws(WebhookError) -> Double? {
        if value.isNull { return nil }
        guard value.kind == .number else { throw error("a number or null") }
        return value.double
    }

    /// An integer in the schema's sense, as decimal text.
    func integer() throws(WebhookError) -> String {
        guard let t = IntegerText.decimal(value) else { throw error("an integer") }
        return t
    }

    /// An identifier: Bluejay's schema types most ids as integers, but ids are opaque to us and its
    /// other API carries the same simulation result id as a string, so either is accepted.
    /// Integers come back as decimal text, strings as sent.
    /// An id the schema types as integer, as decimal text (ids are strings everywhere else in the sidecar).
    func integerID() throws(WebhookError) -> String {
        guard let t = IntegerText.decimal(value) else { throw error("an integer") }
        return t
    }

    /// An id the schema types as string.
    func stringID() throws(WebhookError) -> String {
        guard let s = value.string else { throw error("a string") }
        return s
    }

    // MARK: arrays

    func elements() throws(WebhookError) -> [WebhookField] {
        guard let items = value.elements else { throw error("an array") }
        return items.enumerated().map { WebhookField($0.element, path: "\(path)[\($0.offset)]") }
    }

    /// Elements of an optional, nullable array; empty when null.
    func elementsOrNull() throws(WebhookError) -> [WebhookField] {
        if value.isNull { return [] }
        guard let items = value.elements else { throw error("an array or null") }
        return items.enumerated().map { WebhookField($0.element, path: "\(path)[\($0.offset)]") }
    }

    static func noun(_ kind: JSONKind) -> String {
        switch kind {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}
