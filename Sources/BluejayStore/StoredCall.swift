/// A call as the store keeps it: what a restart needs to answer its BYE and to flush it.
public struct StoredCall: Equatable, Sendable {
    public enum State: String, Sendable { case ringing, active, ended }
    public enum FlushState: String, Sendable {
        /// Records are still accepted.
        case open
        /// The body went to the outbox.
        case flushed
        /// Nothing was sent: no simulation result id, or a call that never got going with nothing recorded.
        case skipped
    }

    public var callID: String
    public var simulationResultID: String?
    public var fromHeader: String
    public var toHeader: String
    public var localTag: String
    public var remoteTag: String?
    public var invitedAtMs: Int64
    public var answeredAtMs: Int64?
    public var endedAtMs: Int64?
    public var endedBy: String?
    public var endReason: String?
    public var state: State
    /// JSON object of the INVITE's `X-` headers, kept as text so the flush splices it in unchanged.
    public var sipHeadersJSON: [UInt8]
    public var flushState: FlushState

    public init(callID: String, simulationResultID: String?, fromHeader: String, toHeader: String, localTag: String,
                remoteTag: String?, invitedAtMs: Int64, answeredAtMs: Int64? = nil, endedAtMs: Int64? = nil,
                endedBy: String? = nil, endReason: String? = nil, state: State, sipHeadersJSON: [UInt8],
                flushState: FlushState = .open) {
        self.callID = callID
        self.simulationResultID = simulationResultID
        self.fromHeader = fromHeader
        self.toHeader = toHeader
        self.localTag = localTag
        self.remoteTag = remoteTag
        self.invitedAtMs = invitedAtMs
        self.answeredAtMs = answeredAtMs
        self.endedAtMs = endedAtMs
        self.endedBy = endedBy
        self.endReason = endReason
        self.state = state
        self.sipHeadersJSON = sipHeadersJSON
        self.flushState = flushState
    }
}

/// One agent record as stored: times are kept as given (absolute or offset) because the answer time may come later.
public struct StoredRecord: Equatable, Sendable {
    public var id: Int64
    public var kind: String
    public var startIsOffset: Bool
    public var startValue: Int64
    public var endIsOffset: Bool?
    public var endValue: Int64?
    public var fragment: [UInt8]

    public init(id: Int64 = 0, kind: String, startIsOffset: Bool, startValue: Int64, endIsOffset: Bool? = nil,
                endValue: Int64? = nil, fragment: [UInt8]) {
        self.id = id
        self.kind = kind
        self.startIsOffset = startIsOffset
        self.startValue = startValue
        self.endIsOffset = endIsOffset
        self.endValue = endValue
        self.fragment = fragment
    }
}
