import BluejayJSON
import BluejaySIP
import BluejayStore

extension UserAgentServer {
    func handleInitialInvite(_ tx: ServerTransaction, peer: SIPPeer) {
        let invite: SIPMessage = tx.request
        if let existing = calls[invite.callID] {
            if existing.restored, existing.state == .active, existing.remoteTag == invite.fromTag {
                // The caller retransmits an INVITE whose 2xx a crash may have swallowed: answer it again with the
                // same dialog, as the lost transaction would have.
                reanswer(existing, tx: tx, peer: peer)
                return
            }
            // Same Call-ID, new transaction, no To tag: a merged or looped request (§8.2.2.2).
            respond(tx, 482)
            return
        }
        guard acceptingCalls else {
            respond(tx, 503, headers: [("Retry-After", "5")])
            return
        }
        guard liveCalls < config.maxCalls else {
            counters.rejectedOverLimit += 1
            respond(tx, 503, headers: [("Retry-After", "5")])
            return
        }
        let unsupported = invite.require.filter { $0.lowercased() != "timer" }
        guard unsupported.isEmpty else {
            respond(tx, 420, headers: [("Unsupported", unsupported.joined(separator: ", "))])
            return
        }
        if let se = invite.sessionExpires, se.seconds < config.minSessionExpires {
            respond(tx, 422, headers: [("Min-SE", "\(config.minSessionExpires)")])
            return
        }
        if !invite.body.isEmpty, let type = invite.contentType, type.lowercased() != "application/sdp" {
            respond(tx, 415, headers: [("Accept", "application/sdp")])
            return
        }
        let host = advertisedHost(for: invite)
        let sessionID = random.uint64() >> 1 | 1 // 1...Int64.max
        let sdp: [UInt8]
        if invite.body.isEmpty {
            sdp = SDPAnswer.offer(localAddress: host, sessionID: sessionID)
        } else if let answer = SDPAnswer.answer(to: invite.body, localAddress: host, sessionID: sessionID) {
            sdp = answer
        } else {
            respond(tx, 488)
            return
        }

        if let refusal = sourceLimiter?.admit(callID: invite.callID, source: peer.host, nowMs: environment.nowMs).refusal {
            respond(tx, refusal.status, reason: refusal.reason, headers: [("Retry-After", String(refusal.retryAfterSeconds))])
            return
        }
        awaitAnswer(tx)
        if invite.simulationResultIDCount > 1 {
            logger.warning("INVITE has more than one X-Simulation-Result-Id; the first wins", metadata: ["call_id": "\(invite.callID)"])
        }
        let simulationResultID = invite.simulationResultID
            ?? environment.outboundSimulationResultID(dialled: [Self.userPart(invite.requestURI ?? ""), Self.userPart(invite.toURI)],
                                                      callID: invite.callID)
        let call = UASCall(callID: invite.callID, localTag: newTag(), remoteTag: invite.fromTag,
                           fromHeader: invite.fromHeader, toHeader: invite.toHeader,
                           simulationResultID: simulationResultID, sipHeadersJSON: Self.headersJSON(invite.xHeaders),
                           invitedAtMs: environment.nowMs, remoteCSeq: invite.cseqNumber, sdpSessionID: sessionID)
        call.localSDP = sdp
        call.remoteTarget = invite.contactURI
        call.routeSet = invite.headerValues("Record-Route")
        call.peer = peer
        call.localHost = host
        call.inviteTransaction = tx
        tx.call = call
        calls[call.callID] = call
        liveCalls += 1
        SIPMetrics.activeCalls.record(liveCalls)
        if config.ringMs > 0 {
            // In the store before the registry shows it to the agent: a record written while the call rings is
            // then committed after the call's row, and a crash or a prune meanwhile keeps both. (Unringing, the
            // answer's write comes next in this same tick.)
            environment.persist(call.stored) { [weak self] error in
                if let error { self?.logger.error("could not store call state", metadata: ["call_id": "\(call.callID)", "error": "\(error)"]) }
            }
        }
        registry.upsert(CallEntry(callID: call.callID, simulationResultID: call.simulationResultID, state: .ringing,
                                  invitedAtMs: call.invitedAtMs))
        logger.info("call started", metadata: ["call_id": "\(call.callID)", "simulation_result_id": "\(call.simulationResultID ?? "-")"])

        if config.ringMs > 0 {
            respond(tx, 180, toTag: call.localTag, headers: [("Contact", contact(host: host, peer: peer))])
            call.answerTimer = environment.schedule(afterMs: config.ringMs) { [weak self, weak call] in
                guard let self, let call else { return }
                self.answer(call, peer: peer, host: host)
            }
        } else {
            answer(call, peer: peer, host: host)
        }
    }

    /// How long an INVITE may go without any response before it gets 100 Trying.
    static let tryingAfterMs: Int64 = 100

    /// RFC 3261 §17.2.1: 100 Trying unless the answer is out within 200 ms. The answer waits only for the
    /// store's commit, normally a few ms, so 100 Trying is sent only to INVITEs still unanswered after
    /// `tryingAfterMs` (or retransmitted before their answer): one datagram fewer for almost every call, and
    /// one timer for all waiting INVITEs rather than one per call.
    func awaitAnswer(_ tx: ServerTransaction) {
        tx.arrivedAtMs = environment.nowMs
        awaitingAnswer.append(tx)
        if tryingTimer == nil {
            tryingTimer = environment.schedule(afterMs: Self.tryingAfterMs) { [weak self] in self?.sendDueTrying() }
        }
    }

    private func sendDueTrying() {
        tryingTimer = nil
        let now = environment.nowMs
        var waiting: [ServerTransaction] = []
        for tx in awaitingAnswer where tx.lastResponse == nil && tx.finalStatus == nil {
            if now - tx.arrivedAtMs >= Self.tryingAfterMs { respond(tx, 100) } else { waiting.append(tx) }
        }
        awaitingAnswer = waiting
        if let oldest = waiting.first {
            tryingTimer = environment.schedule(afterMs: max(1, oldest.arrivedAtMs + Self.tryingAfterMs - now)) { [weak self] in
                self?.sendDueTrying()
            }
        }
    }

    /// Makes the call durable, then sends the 200: a caller never holds a dialog the sidecar could forget.
    func answer(_ call: UASCall, peer: SIPPeer, host: String) {
        guard call.state == .ringing, let tx = call.inviteTransaction, tx.finalStatus == nil else { return }
        call.answerTimer = nil
        call.state = .active
        call.answeredAtMs = environment.nowMs
        negotiateSessionTimer(call, request: tx.request)
        call.toHeader = tx.request.toTag == nil ? tx.request.toHeader + ";tag=" + call.localTag : tx.request.toHeader
        environment.persist(call.stored) { [weak self, weak call] error in
            guard let self, let call else { return }
            if let error {
                // SIP keeps working without the store; the agent's records will be refused as store_unavailable.
                self.logger.error("could not store call state", metadata: ["call_id": "\(call.callID)", "error": "\(error)"])
            }
            guard call.state == .active, tx.finalStatus == nil else { return }
            self.sendAnswer(call, tx: tx, peer: peer, host: host)
        }
    }

    private func sendAnswer(_ call: UASCall, tx: ServerTransaction, peer: SIPPeer, host: String) {
        var headers: [(String, String)] = [("Contact", contact(host: host, peer: peer)), ("Allow", Self.allow), ("Supported", "timer")]
        headers += sessionTimerHeaders(call)
        let cseq = tx.cseqNumber
        guard let bytes = respond(tx, 200, toTag: call.localTag, headers: headers, contentType: "application/sdp", body: call.localSDP) else { return }
        call.inviteTransaction = nil
        registry.update(call.callID) { $0.state = .active; $0.answeredAtMs = call.answeredAtMs }
        record("call_answered", call, atMs: call.answeredAtMs, description: "answered by the sidecar (mode uas)")
        awaitAck(call, cseq: cseq, response: bytes, destination: tx.destination)
        armSessionTimer(call)
    }

    /// A restored call's INVITE again: 200 with the dialog's tag, the SDP answered afresh, awaiting the ACK.
    private func reanswer(_ call: UASCall, tx: ServerTransaction, peer: SIPPeer) {
        let invite: SIPMessage = tx.request
        let host = advertisedHost(for: invite)
        if call.localSDP.isEmpty {
            call.localSDP = invite.body.isEmpty
                ? SDPAnswer.offer(localAddress: host, sessionID: call.sdpSessionID)
                : SDPAnswer.answer(to: invite.body, localAddress: host, sessionID: call.sdpSessionID) ?? []
        }
        call.remoteCSeq = max(call.remoteCSeq, invite.cseqNumber)
        var headers: [(String, String)] = [("Contact", contact(host: host, peer: peer)), ("Allow", Self.allow), ("Supported", "timer")]
        headers += sessionTimerHeaders(call)
        guard let bytes = respond(tx, 200, toTag: call.localTag, headers: headers, contentType: "application/sdp", body: call.localSDP) else { return }
        awaitAck(call, cseq: invite.cseqNumber, response: bytes, destination: tx.destination)
    }

    /// Retransmits a 2xx over UDP until its ACK; no ACK in 64·T1 ends the call (§13.3.1.4).
    func awaitAck(_ call: UASCall, cseq: UInt32, response: [UInt8], destination: SIPDestination) {
        call.awaitingAck?.retransmission?.stop()
        var retransmission: Retransmission?
        if !destination.peer.transport.isReliable {
            retransmission = Retransmission.start(response, to: destination, config: config, environment: environment) { [weak self, weak call] in
                guard let self, let call else { return }
                self.logger.warning("no ACK for 2xx, ending call", metadata: ["call_id": "\(call.callID)"])
                call.awaitingAck = nil
                self.end(call, by: "system", reason: "no_ack", then: nil)
            }
        }
        call.awaitingAck = (cseq, retransmission)
    }

    func handleCancel(_ cancel: ServerTransaction) {
        guard let inviteTx = transactions[cancel.key.with(method: "INVITE")] else {
            respond(cancel, 481)
            return
        }
        respond(cancel, 200)
        guard inviteTx.finalStatus == nil else { return } // already answered: CANCEL has no effect (§9.2)
        respond(inviteTx, 487)
        if let call = inviteTx.call {
            call.inviteTransaction = nil
            end(call, by: "caller", reason: "cancelled", then: nil)
        }
    }

    func contact(host: String, peer: SIPPeer) -> String {
        let h = host.contains(":") ? "[\(host)]" : host
        let transport = peer.transport == .udp ? "" : ";transport=\(peer.transport.rawValue.lowercased())"
        return "<sip:bluejay-sidecar@\(h):\(peer.localPort)\(transport)>"
    }

    func advertisedHost(for request: SIPMessage) -> String {
        if let host = config.advertisedHost { return host }
        // The Request-URI's host is the address the caller used to reach us.
        if let uri = request.requestURI, let at = uri.firstIndex(of: "@") {
            var rest = uri[uri.index(after: at)...]
            if rest.hasPrefix("[") , let close = rest.firstIndex(of: "]") {
                return String(rest[rest.index(after: rest.startIndex)..<close])
            }
            if let end = rest.firstIndex(where: { $0 == ":" || $0 == ";" || $0 == ">" || $0 == "?" }) { rest = rest[..<end] }
            if !rest.isEmpty { return String(rest) }
        }
        return "127.0.0.1"
    }

    /// The user part of a SIP/tel URI ("sip:+1415@host;user=phone" → "+1415").
    static func userPart(_ uri: String) -> String {
        var rest = Substring(uri)
        if let colon = rest.firstIndex(of: ":") { rest = rest[rest.index(after: colon)...] }
        if let at = rest.firstIndex(of: "@") { rest = rest[..<at] }
        if let semi = rest.firstIndex(of: ";") { rest = rest[..<semi] }
        return String(rest)
    }

    /// 96 random bits (RFC 3261 §19.3 asks for at least 32) in base 36.
    func newTag() -> String {
        String(random.uint64(), radix: 36) + String(UInt32(truncatingIfNeeded: random.uint64()), radix: 36)
    }

    /// The INVITE's X- headers as a JSON object (first occurrence of a name wins), for metadata.sip_headers.
    static func headersJSON(_ headers: [(name: String, value: String)]) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        var seen = Set<String>()
        for (name, value) in headers where seen.insert(name.lowercased()).inserted {
            writer.key(name)
            writer.string(value)
        }
        writer.endObject()
        return writer.bytes
    }
}
