import BluejayStore

/// One call's dialog state inside the user agent; lives on the SIP thread only.
final class UASCall {
    let callID: String
    let localTag: String
    let remoteTag: String?
    let fromHeader: String
    var toHeader: String
    var simulationResultID: String?
    let sipHeadersJSON: [UInt8]
    let invitedAtMs: Int64
    var answeredAtMs: Int64?
    var endedAtMs: Int64?
    var endedBy: String?
    var endReason: String?
    var state: StoredCall.State = .ringing
    var remoteCSeq: UInt32
    /// The initial INVITE's transaction, while it has no final response.
    var inviteTransaction: ServerTransaction?
    /// 2xx to an INVITE (initial or re-INVITE) waiting for its ACK: which CSeq, and its retransmission over UDP.
    var awaitingAck: (cseq: UInt32, retransmission: Retransmission?)?
    var answerTimer: SIPTimer?
    var sessionTimer: SIPTimer?
    /// Negotiated RFC 4028 interval and who refreshes.
    var sessionExpires: Int?
    var refresher: String?
    let sdpSessionID: UInt64
    /// The caller's last offer put us on hold (sendonly/inactive).
    var onHold = false
    var localSDP: [UInt8] = []
    /// Rebuilt from the store after a restart: the INVITE's transaction died with the old process.
    var restored = false
    /// What a BYE of ours needs (RFC 3261 §12.1.1): the caller's Contact, the Record-Route set, the flow the
    /// INVITE came on and the host we answered as. Not kept across restarts.
    var remoteTarget: String?
    var routeSet: [String] = []
    var peer: SIPPeer?
    var localHost = ""
    var localCSeq: UInt32 = 0

    init(callID: String, localTag: String, remoteTag: String?, fromHeader: String, toHeader: String,
         simulationResultID: String?, sipHeadersJSON: [UInt8], invitedAtMs: Int64, remoteCSeq: UInt32, sdpSessionID: UInt64) {
        self.callID = callID
        self.localTag = localTag
        self.remoteTag = remoteTag
        self.fromHeader = fromHeader
        self.toHeader = toHeader
        self.simulationResultID = simulationResultID
        self.sipHeadersJSON = sipHeadersJSON
        self.invitedAtMs = invitedAtMs
        self.remoteCSeq = remoteCSeq
        self.sdpSessionID = sdpSessionID
    }

    var stored: StoredCall {
        StoredCall(callID: callID, simulationResultID: simulationResultID, fromHeader: fromHeader, toHeader: toHeader,
                   localTag: localTag, remoteTag: remoteTag, invitedAtMs: invitedAtMs, answeredAtMs: answeredAtMs,
                   endedAtMs: endedAtMs, endedBy: endedBy, endReason: endReason, state: state, sipHeadersJSON: sipHeadersJSON)
    }

    func stopTimers() {
        answerTimer?.cancel()
        answerTimer = nil
        sessionTimer?.cancel()
        sessionTimer = nil
        awaitingAck?.retransmission?.stop()
        awaitingAck = nil
    }
}
