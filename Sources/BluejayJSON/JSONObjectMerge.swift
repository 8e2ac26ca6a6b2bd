/// Shallow merge of JSON objects, for the call's `metadata`: the agent may send several
/// metadata lines and the sidecar adds its own keys last, so later keys must win.
public enum JSONObjectMerge {
    /// Merge objects' top-level members, later keys win (keeping first-seen key order); returns object JSON bytes.
    /// Values are copied raw; non-object inputs are ignored.
    public static func merge(_ objects: [RawJSON]) -> [UInt8] {
        var order: [String] = []
        var values: [String: ArraySlice<UInt8>] = [:]
        for object in objects {
            guard let members = object.members else { continue }
            for (key, value) in members {
                if values.updateValue(value.bytes, forKey: key) == nil { order.append(key) }
            }
        }
        var w = JSONWriter(capacity: objects.reduce(2) { $0 + $1.bytes.count })
        w.beginObject()
        for key in order { w.member(key, raw: values[key]!) }
        w.endObject()
        return w.bytes
    }
}
