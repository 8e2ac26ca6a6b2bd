/// How a request names its call: by SIP Call-ID, by Bluejay simulation result id, or both
/// (both also tells the sidecar the call's Bluejay id when the INVITE carried no header).
/// At least one is non-nil in every decoded request.
public struct CallReference: Equatable, Hashable, Sendable {
    public var callID: String?
    public var simulationResultID: String?

    public init(callID: String?, simulationResultID: String?) {
        self.callID = callID
        self.simulationResultID = simulationResultID
    }
}
