import BluejayJSON
/// Names the call a record belongs to: by its SIP Call-ID, or by Bluejay's simulation result id (the only
/// name an agent has for a ledger it opened with `start`, e.g. over Bluejay's WebSocket integration).
public enum CallRef: Sendable, Hashable {
    case callID(String)
    case simulationResultID(String)

    func write(into w: inout JSONWriter) {
        switch self {
        case .callID(let id): w.member("call_id", string: id)
        case .simulationResultID(let id): w.member("simulation_result_id", string: id)
        }
    }
}
