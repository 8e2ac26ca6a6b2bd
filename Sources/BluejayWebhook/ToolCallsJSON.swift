/// The raw `tool_calls` array of an evaluated event, checked against the schema's `ToolCall`
/// (`name` string, `start_offset_ms` integer >= 0, `description` string|null, `parameters`
/// object|null) so that whoever forwards it passes on only what Bluejay itself would accept.
enum ToolCallsJSON {
    static let empty: [UInt8] = Array("[]".utf8)

    /// The array's exact bytes, or `[]` when absent or null.
    static func read(_ field: WebhookField?) throws(WebhookError) -> [UInt8] {
        guard let field, !field.value.isNull else { return empty }
        for item in try field.elementsOrNull() {
            let call = try item.object()
            _ = try call.required("name").string()
            let offset = try call.required("start_offset_ms")
            let ms = try offset.integer()
            if ms.hasPrefix("-") { throw offset.error("an integer >= 0") }
            _ = try call.member("description")?.stringOrNull()
            if let p = try call.present("parameters") { _ = try p.object() }
        }
        return Array(field.value.bytes)
    }
}
