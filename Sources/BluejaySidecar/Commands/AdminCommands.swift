import ArgumentParser
import Foundation

/// `bluejay-sidecar calls`: active and recent calls of a running sidecar.
struct CallsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calls", abstract: "List active and recent calls of a running sidecar.")
    @OptionGroup var connection: AdminConnection

    func run() throws {
        let (status, data) = try connection.request("GET", "/v1/calls")
        guard status == 200 else { throw CommandFailure.exit("HTTP \(status): \(String(decoding: data, as: UTF8.self))") }
        if connection.json { return connection.printJSON(data) }
        let calls = (try connection.object(data)["calls"] as? [[String: Any]]) ?? []
        let rows = calls.map { c in ["call_id", "simulation_result_id", "state", "invited_at", "records", "flush_state"].map { TextTable.cell(c[$0]) } }
        print(TextTable.render(["CALL-ID", "SIMULATION RESULT", "STATE", "STARTED", "RECORDS", "FLUSH"], rows), terminator: "")
    }
}

/// `bluejay-sidecar outbox [--retry ID]`: what waits to go to Bluejay, and the dead letters.
struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "outbox", abstract: "Show the outbox (pending, retrying, dead letters), or retry one item.")
    @OptionGroup var connection: AdminConnection
    @Option(name: .long, help: "Put this outbox item (a dead letter, or a pending one) back in line now.")
    var retry: Int64?

    func run() throws {
        if let id = retry {
            let (status, data) = try connection.request("POST", "/v1/outbox/\(id)/retry")
            if connection.json { connection.printJSON(data) } else if status == 200 { print("outbox item \(id) queued for delivery") }
            switch status {
            case 200: return
            case 404: throw CommandFailure.exit("no outbox item \(id)")
            case 409: throw CommandFailure.exit("outbox item \(id) was already delivered")
            default: throw CommandFailure.exit("HTTP \(status): \(String(decoding: data, as: UTF8.self))")
            }
        }
        let (status, data) = try connection.request("GET", "/v1/outbox")
        guard status == 200 else { throw CommandFailure.exit("HTTP \(status): \(String(decoding: data, as: UTF8.self))") }
        if connection.json { return connection.printJSON(data) }
        let object = try connection.object(data)
        let counts = object["counts"] as? [String: Any] ?? [:]
        print("pending \(TextTable.cell(counts["pending"]))  retrying \(TextTable.cell(counts["retrying"]))  dead \(TextTable.cell(counts["dead"]))  delivered \(TextTable.cell(counts["delivered"]))")
        var rows: [[String]] = []
        for section in ["pending", "retrying", "dead"] {
            for item in object[section] as? [[String: Any]] ?? [] {
                rows.append([TextTable.cell(item["id"]), section, TextTable.cell(item["simulation_result_id"]), TextTable.cell(item["call_id"]),
                             TextTable.cell(item["attempts"]), TextTable.cell(item["next_attempt_at"]),
                             String(TextTable.cell(item["last_error"]).prefix(60))])
            }
        }
        if !rows.isEmpty {
            print(TextTable.render(["ID", "STATE", "SIMULATION RESULT", "CALL-ID", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"], rows), terminator: "")
        }
    }
}

/// `bluejay-sidecar results [ID]`: Bluejay's evaluations the sidecar received.
struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "results", abstract: "Show Bluejay's evaluations received by the webhook.")
    @OptionGroup var connection: AdminConnection
    @Argument(help: "A simulation result id (or observed call id): show that evaluation in full.")
    var id: String?

    func run() throws {
        let path = id.map { "/v1/results/" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? $0) } ?? "/v1/results"
        let (status, data) = try connection.request("GET", path)
        if status == 404 { throw CommandFailure.exit("no evaluation for \(id ?? "")") }
        guard status == 200 else { throw CommandFailure.exit("HTTP \(status): \(String(decoding: data, as: UTF8.self))") }
        if connection.json { return connection.printJSON(data) }
        let object = try connection.object(data)
        let columns = ["id", "kind", "status", "goal_success", "hallucination", "p50_agent_latency_ms", "p90_agent_latency_ms", "received_at"]
        let booleans: Set<String> = ["goal_success", "hallucination"]
        let header = ["ID", "KIND", "STATUS", "GOAL", "HALLUCINATION", "P50 MS", "P90 MS", "RECEIVED"]
        guard id != nil else {
            let rows = (object["results"] as? [[String: Any]] ?? []).map { r in columns.map { TextTable.cell(r[$0], yesNo: booleans.contains($0)) } }
            return print(TextTable.render(header, rows), terminator: "")
        }
        print(TextTable.render(header, [columns.map { TextTable.cell(object[$0], yesNo: booleans.contains($0)) }]), terminator: "")
        let tools = object["tool_calls"] as? [String: Any] ?? [:]
        let sent = (tools["sent"] as? [[String: Any]] ?? []).map { TextTable.cell($0["name"]) }
        let evaluated = (tools["evaluated"] as? [[String: Any]] ?? []).map { TextTable.cell($0["name"]) }
        print("tool calls sent:      \(sent.isEmpty ? "-" : sent.joined(separator: ", "))")
        print("tool calls evaluated: \(evaluated.isEmpty ? "-" : evaluated.joined(separator: ", "))")
    }
}
