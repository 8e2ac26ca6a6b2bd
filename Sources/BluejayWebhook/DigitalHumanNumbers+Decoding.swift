/// Reading one `digital_humans[]` element (schema `DigitalHuman`: `id`, `name`, `phone_number` required).
extension DigitalHumanNumbers {
    static func read(_ field: WebhookField) throws(WebhookError) -> DigitalHumanNumbers {
        let o = try field.object()
        _ = try o.required("id").integerID()
        _ = try o.required("name").string()
        let phone = try o.required("phone_number").string()
        // Optional and, unlike most arrays in the schema, not nullable.
        let ids = try o.member("associated_simulation_result_ids")?.elements() ?? []
        var resultIDs: [String] = []
        resultIDs.reserveCapacity(ids.count)
        for id in ids { resultIDs.append(try id.integerID()) }
        return DigitalHumanNumbers(phoneNumber: phone, simulationResultIDs: resultIDs)
    }
}
