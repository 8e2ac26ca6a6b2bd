import BluejayStore

/// What the sidecar needs from whatever follows its calls: the UAS in mode `uas`, the observer in `mirror`
/// and `proxy`. Confined to the SIP thread, like its implementations.
public protocol CallTracker: AnyObject {
    /// Calls the store still holds open after a restart.
    func restore(_ stored: [StoredCall])
    /// Ends a call the SIP side never saw end; false when no such live call exists.
    @discardableResult func endCall(_ callID: String, by: String, reason: String) -> Bool
    var liveCallCount: Int { get }
    /// Cleared while draining: new calls are refused (where the mode can refuse them).
    var acceptingCalls: Bool { get set }
    /// Periodic housekeeping, about once a second.
    func sweep()
}

extension UserAgentServer: CallTracker {}
