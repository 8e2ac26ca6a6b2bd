import BluejayCalls
import Logging

/// `--max-call-duration`: a call still up that long after its INVITE is ended and flushed by the sidecar, marked
/// `ended_by: system`, `end_reason: max_call_duration`. It catches what no BYE will end: a BYE lost for good, a
/// caller that vanished, a mirror that missed the end, a ledger the agent never closed. Runs on the SIP loop.
final class CallDurationLimit {
    static let reason = "max_call_duration"

    let maxMs: Int64
    /// How often the calls are looked at: a tenth of the limit, from 1 s to 1 min (a 4 h limit is kept to
    /// within a minute without scanning every call each second).
    let intervalMs: Int64
    private var lastCheckMs: Int64 = 0

    init(maxMs: Int64) {
        self.maxMs = maxMs
        intervalMs = min(60_000, max(1_000, maxMs / 10))
    }

    /// Called about once a second.
    func enforce(nowMs: Int64, registry: CallRegistry, tracker: CallTracker, flusher: Flusher, logger: Logger) {
        guard nowMs - lastCheckMs >= intervalMs - 100 else { return }
        lastCheckMs = nowMs
        for entry in registry.overdue(invitedBeforeMs: nowMs - maxMs) {
            logger.notice("call exceeded --max-call-duration: ending it", metadata: [
                "call_id": "\(entry.callID)", "simulation_result_id": "\(entry.simulationResultID ?? "-")",
                "max_call_duration_ms": "\(maxMs)",
            ])
            if !(entry.viaSIP && tracker.endCall(entry.callID, by: "system", reason: Self.reason)) {
                flusher.end(entry.callID, by: "system", reason: Self.reason) { _ in }
            }
        }
    }
}
