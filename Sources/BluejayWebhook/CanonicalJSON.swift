import BluejayJSON

/// A canonical text of a JSON value: object keys sorted, no insignificant white space, strings escaped
/// one way, numbers as written. The same event re-serialised by a sender digests the same.
enum CanonicalJSON {
    static func bytes(_ value: RawJSON) -> [UInt8] {
        var w = JSONWriter(capacity: value.bytes.count)
        write(value, into: &w)
        return w.bytes
    }

    private static func write(_ value: RawJSON, into w: inout JSONWriter) {
        switch value.kind {
        case .object:
            w.beginObject()
            var latest: [String: RawJSON] = [:]
            for (key, member) in value.members ?? [] { latest[key] = member }
            for key in latest.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                w.key(key)
                write(latest[key]!, into: &w)
            }
            w.endObject()
        case .array:
            w.beginArray()
            for element in value.elements ?? [] { write(element, into: &w) }
            w.endArray()
        case .string:
            w.string(value.string ?? "")
        case .number, .bool, .null:
            w.raw(value.bytes)
        }
    }
}
