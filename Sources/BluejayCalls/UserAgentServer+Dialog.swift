import BluejaySIP
import BluejayStore

extension UserAgentServer {
    /// BYE, re-INVITE, UPDATE, INFO: requests that need a dialog.
    func handleInDialog(_ tx: ServerTransaction, peer: SIPPeer) {
        let request: SIPMessage = tx.request
        guard let call = dialog(for: request), call.state != .ended else {
            respond(tx, 481)
            return
        }
        if request.cseqNumber <= call.remoteCSeq && request.method != "ACK" {
            respond(tx, 500, reason: "CSeq Out Of Order")
            return
        }
        call.remoteCSeq = request.cseqNumber
        switch request.method {
        case "BYE":
            if let inviteTx = call.inviteTransaction, inviteTx.finalStatus == nil {
                respond(inviteTx, 487) // BYE in an early dialog ends the pending INVITE too
                call.inviteTransaction = nil
            }
            end(call, by: "caller", reason: "bye", message: request) { [weak self] in self?.respond(tx, 200) }
        case "INVITE":
            reInvite(call, tx: tx, peer: peer)
        case "UPDATE":
            noteHold(call, request)
            refreshSession(call, request: request)
            var body: [UInt8] = []
            if !request.body.isEmpty, let answer = SDPAnswer.answer(to: request.body, localAddress: advertisedHost(for: request), sessionID: call.sdpSessionID) {
                call.localSDP = answer
                body = answer
            }
            respond(tx, 200, headers: sessionTimerHeaders(call), contentType: body.isEmpty ? nil : "application/sdp", body: body)
        default: // INFO
            record(SIPEventReader.dtmf(request, atMs: environment.nowMs), call)
            respond(tx, 200)
        }
    }

    private func reInvite(_ call: UASCall, tx: ServerTransaction, peer: SIPPeer) {
        let request: SIPMessage = tx.request
        if call.awaitingAck != nil && call.state == .active && call.inviteTransaction != nil {
            respond(tx, 491)
            return
        }
        let host = advertisedHost(for: request)
        noteHold(call, request)
        if !request.body.isEmpty {
            guard let answer = SDPAnswer.answer(to: request.body, localAddress: host, sessionID: call.sdpSessionID) else {
                respond(tx, 488)
                return
            }
            call.localSDP = answer
        }
        refreshSession(call, request: request)
        var headers: [(String, String)] = [("Contact", contact(host: host, peer: peer)), ("Allow", Self.allow), ("Supported", "timer")]
        headers += sessionTimerHeaders(call)
        if let bytes = respond(tx, 200, headers: headers, contentType: "application/sdp", body: call.localSDP) {
            awaitAck(call, cseq: request.cseqNumber, response: bytes, destination: tx.destination)
        }
    }

    /// hold / resume: a re-offer that changes whether the caller holds the call.
    private func noteHold(_ call: UASCall, _ request: SIPMessage) {
        guard let onHold = SIPEventReader.holdChange(request, wasOnHold: call.onHold) else { return }
        call.onHold = onHold
        record(onHold ? "hold" : "resume", call, description: onHold ? "the caller put the call on hold" : "the caller resumed the call",
               metadata: [("direction", SIPEventReader.direction(ofSDP: request.body) ?? "sendrecv")])
    }

    /// Ends the call on the SIP side: `then` (the BYE's 200) once the end is durable; the flush is queued right
    /// behind the end, so without linger both share one commit.
    func end(_ call: UASCall, by: String, reason: String, message: SIPMessage? = nil, then: (() -> Void)?) {
        guard call.state != .ended else { then?(); return }
        record(SIPEventReader.ended(atMs: environment.nowMs, by: by, reason: reason, message: message), call)
        call.stopTimers()
        call.state = .ended
        call.endedAtMs = environment.nowMs
        call.endedBy = by
        call.endReason = reason
        liveCalls -= 1
        SIPMetrics.activeCalls.record(liveCalls)
        metrics.callEnded(reason: reason)
        let duration = call.answeredAtMs.map { call.endedAtMs! - $0 } ?? 0
        logger.info("call ended", metadata: ["call_id": "\(call.callID)", "simulation_result_id": "\(call.simulationResultID ?? "-")",
                                             "ended_by": "\(by)", "reason": "\(reason)", "duration_ms": "\(duration)"])
        registry.update(call.callID) { $0.state = .ended; $0.endedAtMs = call.endedAtMs }
        environment.persist(call.stored) { [weak self] error in
            guard let self else { return }
            if let error { self.logger.error("could not store call end", metadata: ["call_id": "\(call.callID)", "error": "\(error)"]) }
            then?()
            // Keep the dialog a while so retransmitted BYEs match their transaction, then forget it (`sweep`).
            self.endedCalls.append(call, atMs: self.environment.nowMs + self.config.transactionLingerMs)
        }
        // Queued behind the end's own write, so a flush without linger shares its commit.
        environment.callEnded(call.callID)
    }

    /// Ends a call the SIP side never saw end (Bluejay says the simulation is over, the BYE went missing).
    /// Returns false when no such live call exists.
    @discardableResult
    public func endCall(_ callID: String, by: String, reason: String) -> Bool {
        guard let call = calls[callID], call.state != .ended else { return false }
        if let inviteTx = call.inviteTransaction, inviteTx.finalStatus == nil {
            respond(inviteTx, 487)
            call.inviteTransaction = nil
        }
        let hangUp = canHangUp(call)
        end(call, by: by, reason: reason, then: nil)
        if hangUp { self.hangUp(call, reason: reason) }
        return true
    }

    /// Calls the store still holds open after a restart: their dialogs answer BYEs again.
    public func restore(_ stored: [StoredCall]) {
        for s in stored {
            let call = UASCall(callID: s.callID, localTag: s.localTag, remoteTag: s.remoteTag, fromHeader: s.fromHeader,
                               toHeader: s.toHeader, simulationResultID: s.simulationResultID, sipHeadersJSON: s.sipHeadersJSON,
                               invitedAtMs: s.invitedAtMs, remoteCSeq: 0, sdpSessionID: UInt64.random(in: 1...UInt64(Int64.max)))
            call.answeredAtMs = s.answeredAtMs
            call.endedAtMs = s.endedAtMs
            call.endedBy = s.endedBy
            call.endReason = s.endReason
            var state = s.state
            if state == .ringing {
                // The caller's INVITE died with the old process: nothing can answer it now.
                state = .ended
                call.endedAtMs = s.invitedAtMs
                call.endedBy = "system"
                call.endReason = "restart"
            }
            call.state = state
            let viaSIP = !s.localTag.isEmpty // a ledger the agent opened with `start` has no dialog
            if state == .active && viaSIP {
                call.restored = true
                calls[s.callID] = call
                liveCalls += 1
                SIPMetrics.activeCalls.record(liveCalls)
            }
            var entry = CallEntry(callID: s.callID, simulationResultID: s.simulationResultID,
                                  state: CallEntry.State(rawValue: state.rawValue) ?? .ended, invitedAtMs: s.invitedAtMs,
                                  answeredAtMs: s.answeredAtMs, endedAtMs: call.endedAtMs)
            entry.flushed = s.flushState != .open
            entry.viaSIP = viaSIP
            registry.upsert(entry)
        }
    }
}
