import BluejayAgentProtocol
import BluejayCalls
import BluejayStore
import Foundation

/// `GET /`: a server-rendered page an operator can keep open; it reloads itself every 5 seconds.
enum StatusPage {
    static func render(calls: [CallEntry], outbox: AdminAPI.OutboxView, results: [WebhookStore.Result], nowMs: Int64) -> String {
        var html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
        <title>bluejay-sidecar</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330;background:#f7f8fa}
        h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem}
        table{border-collapse:collapse;background:#fff;min-width:40rem}
        th,td{border:1px solid #d5d9e0;padding:.35rem .6rem;text-align:left;font-size:.9rem}
        th{background:#eef1f5} .ok{color:#137333} .bad{color:#b3261e} .muted{color:#6b7280}
        .counts span{display:inline-block;margin-right:1.2rem;padding:.4rem .7rem;background:#fff;border:1px solid #d5d9e0}
        </style></head><body>
        <h1>bluejay-sidecar</h1>
        <p class="muted">Updated \(escape(RFC3339.format(epochMs: nowMs))) · reloads every 5 s</p>
        <h2>Calls</h2>
        <table id="calls"><thead><tr><th>Call-ID</th><th>Simulation result</th><th>State</th><th>Started</th><th>Records</th><th>Flushed</th></tr></thead><tbody>
        """
        let live = calls.filter { $0.state != .ended }
        let shown = live.isEmpty ? Array(calls.prefix(20)) : live + calls.filter { $0.state == .ended }.prefix(10)
        if shown.isEmpty { html += "<tr><td colspan=\"6\" class=\"muted\">no calls yet</td></tr>" }
        for c in shown {
            html += "<tr><td>\(escape(c.callID))</td><td>\(escape(c.simulationResultID ?? "–"))</td><td>\(escape(c.state.rawValue))</td>"
            html += "<td>\(escape(RFC3339.format(epochMs: c.invitedAtMs)))</td><td>\(c.recordCount)</td><td>\(c.flushed ? "yes" : "no")</td></tr>"
        }
        html += """
        </tbody></table>
        <h2>Outbox</h2>
        <div id="outbox" class="counts"><span>pending <b>\(outbox.pending - outbox.retrying)</b></span><span>retrying <b>\(outbox.retrying)</b></span><span>dead letters <b class="\(outbox.dead > 0 ? "bad" : "")">\(outbox.dead)</b></span><span>delivered <b>\(outbox.delivered)</b></span></div>
        """
        if !outbox.deadItems.isEmpty {
            html += "<table><thead><tr><th>Id</th><th>Simulation result</th><th>Reason</th></tr></thead><tbody>"
            for d in outbox.deadItems.prefix(10) {
                html += "<tr><td>\(d.id)</td><td>\(escape(d.simulationResultID))</td><td>\(escape(String((d.lastError ?? "").prefix(200))))</td></tr>"
            }
            html += "</tbody></table>"
        }
        html += """
        <h2>Latest evaluations</h2>
        <table id="results"><thead><tr><th>Id</th><th>Kind</th><th>Status</th><th>Goal success</th><th>Hallucination</th><th>Agent latency p50 / p90 (ms)</th></tr></thead><tbody>
        """
        if results.isEmpty { html += "<tr><td colspan=\"6\" class=\"muted\">no evaluations yet</td></tr>" }
        for r in results.prefix(20) {
            let goal = r.goalSuccess.map { $0 ? "<span class=\"ok\">yes</span>" : "<span class=\"bad\">no</span>" } ?? "–"
            let hallucination = r.hallucination.map { $0 ? "<span class=\"bad\">yes</span>" : "no" } ?? "–"
            html += "<tr><td>\(escape(r.id))</td><td>\(escape(r.kind))</td><td>\(escape(r.status ?? "–"))</td><td>\(goal)</td><td>\(hallucination)</td>"
            html += "<td>\(number(r.p50AgentLatencyMs)) / \(number(r.p90AgentLatencyMs))</td></tr>"
        }
        html += "</tbody></table></body></html>\n"
        return html
    }

    private static func number(_ v: Double?) -> String {
        guard let v else { return "–" }
        if let whole = v.exactInt64 { return String(whole) }
        return v.isFinite ? String(format: "%.1f", v) : "–"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
