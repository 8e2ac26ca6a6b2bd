/// A decoded request line: something to store, or a call-level command.
public enum AgentRequest: Equatable, Sendable {
    case record(AgentRecord)
    /// The agent is done with the call: flush it to Bluejay now rather than waiting for SIP BYE.
    case end(CallReference)
    /// Ask what the sidecar knows about a call (its Bluejay id, state, start time).
    case lookup(CallReference)
    /// Open a ledger with no SIP call behind it (agents reached over Bluejay's WebSocket integration):
    /// the reference always carries a simulation result id; a `call_id` is optional.
    case start(CallReference)
}
