import BluejayStore

/// A scheduled piece of work that can be called off.
public protocol SIPTimer: AnyObject {
    func cancel()
}

/// What the user agent needs from the world around it. Every callback must run on the agent's own thread
/// (the SIP event loop), so the agent holds no locks.
public protocol UASEnvironment: AnyObject {
    var nowMs: Int64 { get }
    func send(_ bytes: [UInt8], to destination: SIPDestination)
    func schedule(afterMs: Int64, _ task: @escaping () -> Void) -> SIPTimer
    /// Makes the call's SIP state durable; `done` runs on the agent's thread after commit (nil) or failure.
    func persist(_ call: StoredCall, done: @escaping (Error?) -> Void)
    /// The call is over on the SIP side (BYE answered, CANCEL, failed INVITE, no ACK, session expired).
    func callEnded(_ callID: String)
    /// The simulation result id for an INVITE that carries none (see the extension's default).
    func outboundSimulationResultID(dialled: [String], callID: String) -> String?
    /// Records a SIP-derived event for the call (durably, before anything queued after it, like the flush).
    func record(_ event: SIPCallEvent, callID: String)
}

extension UASEnvironment {
    /// The simulation result id for an INVITE that carries none, from the numbers of outbound simulations
    /// Bluejay announced: `dialled` are the Request-URI and To user parts. Nil: no outbound simulation matches.
    public func outboundSimulationResultID(dialled: [String], callID: String) -> String? { nil }
    public func record(_ event: SIPCallEvent, callID: String) {}
}
