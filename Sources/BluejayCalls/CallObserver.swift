import BluejaySIP
import BluejayStore
import Foundation
import Logging

/// Follows calls from the messages it is shown, answering nothing: copies of the signalling (mode `mirror`)
/// or what the proxy relays (mode `proxy`). INVITE / 2xx / BYE drive the same registry, store and flush as
/// the UAS, and the same SIP-derived events are recorded. Confined to the SIP thread.
public final class CallObserver {
    final class ObservedCall {
        let callID: String
        let callerTag: String?
        var agentTag: String?
        var simulationResultID: String?
        let fromHeader: String
        var toHeader: String
        let sipHeadersJSON: [UInt8]
        let invitedAtMs: Int64
        /// When it began, by `sweep`'s clock (`invitedAtMs` may be a capture time).
        var begunAtMs: Int64 = 0
        /// The CSeq of the INVITE whose final response decides the call: a retry after a challenge raises it.
        var inviteCSeq: UInt32
        /// A final response that asks the caller to try again (401, 407, 422, 3xx) and ends the call only if no
        /// new INVITE comes: its status, and the CSeq it answered.
        var challenge: (status: Int, cseq: UInt32)?
        var answeredAtMs: Int64?
        var endedAtMs: Int64?
        var endedBy: String?
        var endReason: String?
        var state: StoredCall.State = .ringing
        var onHold = false
        /// In-dialog requests that made an event, by sender's tag, CSeq and method: the same request seen again (a
        /// retransmission, or a copy from a second capture point that differs in its bytes) makes no second event.
        private var eventRequests: Set<String> = []

        func firstSight(of m: SIPMessage) -> Bool {
            eventRequests.insert("\(m.fromTag ?? "")|\(m.cseqNumber)|\(m.method)").inserted
        }

        init(callID: String, callerTag: String?, simulationResultID: String?, fromHeader: String, toHeader: String,
             sipHeadersJSON: [UInt8], invitedAtMs: Int64, inviteCSeq: UInt32) {
            self.callID = callID
            self.callerTag = callerTag
            self.simulationResultID = simulationResultID
            self.fromHeader = fromHeader
            self.toHeader = toHeader
            self.sipHeadersJSON = sipHeadersJSON
            self.invitedAtMs = invitedAtMs
            self.inviteCSeq = inviteCSeq
        }

        var stored: StoredCall {
            // The agent's To-tag marks it as a SIP call in the store (a `start` ledger has none).
            StoredCall(callID: callID, simulationResultID: simulationResultID, fromHeader: fromHeader, toHeader: toHeader,
                       localTag: agentTag ?? "-", remoteTag: callerTag, invitedAtMs: invitedAtMs, answeredAtMs: answeredAtMs,
                       endedAtMs: endedAtMs, endedBy: endedBy, endReason: endReason, state: state, sipHeadersJSON: sipHeadersJSON)
        }
    }

    let config: UASConfig
    let registry: CallRegistry
    let environment: UASEnvironment
    let logger: Logger
    private var calls: [String: ObservedCall] = [:]
    /// Ended calls, forgotten `transactionLingerMs` after the end.
    private var endedCalls = ExpiryQueue<ObservedCall>()
    /// Challenged calls, ended `transactionLingerMs` (Timer B's 64·T1) after the challenge unless a new INVITE came.
    private var challengedCalls = ExpiryQueue<(call: ObservedCall, cseq: UInt32)>()
    /// Calls ringing: those still ringing `ringingLimitMs` after their INVITE are ended, since a final response
    /// lost (or never captured) must not keep a call, and its registry entry, for `--max-call-duration`. Only
    /// ringing calls are here, so `sweep` looks at a few and memory does not grow with the call rate.
    private var ringing: [String: ObservedCall] = [:]
    /// Timer C (RFC 3261 §16.6, more than 3 minutes), plus a minute for a challenge and its retry.
    public static let ringingLimitMs: Int64 = 240_000
    private var live = 0
    private let metrics = SIPMetrics()
    /// Mirror and proxy modes cannot refuse calls; kept for the protocol (a proxy stops relaying new INVITEs).
    public var acceptingCalls = true

    public init(config: UASConfig, registry: CallRegistry, environment: UASEnvironment, logger: Logger) {
        self.config = config
        self.registry = registry
        self.environment = environment
        self.logger = logger
        SIPMetrics.activeCalls.record(0)
    }

    public var liveCallCount: Int { live }
    /// Forgets ended calls whose linger time is over; call about once a second.
    public func sweep() {
        let now = environment.nowMs
        endedCalls.expire(nowMs: now) { call in
            if calls[call.callID] === call { calls[call.callID] = nil }
        }
        challengedCalls.expire(nowMs: now) { due in
            guard due.call.state == .ringing, due.call.challenge?.cseq == due.cseq else { return }
            endUnanswered(due.call, now)
        }
        for call in ringing.values where now - call.begunAtMs >= Self.ringingLimitMs { endUnanswered(call, now) }
    }

    /// A ringing call no answer will come for: rejected by its last challenge, or no final response seen at all.
    private func endUnanswered(_ call: ObservedCall, _ now: Int64) {
        if let challenge = call.challenge {
            end(call, by: "agent", reason: "rejected_\(challenge.status)", message: nil, now)
        } else {
            end(call, by: "system", reason: "no_final_response", message: nil, now)
        }
    }

    /// A final response after which RFC 3261 has the caller send a new INVITE in the same call (same Call-ID,
    /// higher CSeq): credentials (§22.2), a larger session interval (RFC 4028 §6), another target (§8.1.3.4).
    static func asksForRetry(_ status: Int) -> Bool {
        status == 401 || status == 407 || status == 422 || (300..<400).contains(status)
    }

    /// One message seen on the wire (once: duplicates are the caller's to filter). `atMs` is the capture time
    /// when a capture protocol gives it.
    public func observe(_ message: SIPMessage, atMs: Int64? = nil) {
        let now = atMs ?? environment.nowMs
        metrics.message(outbound: false, method: message.method, code: message.isRequest ? 0 : message.statusCode)
        if message.isRequest { request(message, now) } else { response(message, now) }
    }

    private func request(_ m: SIPMessage, _ now: Int64) {
        let call = calls[m.callID]
        switch m.method {
        case "INVITE" where m.toTag == nil:
            if let call {
                // The caller's retry after a challenge: its final response decides the call now.
                if call.state == .ringing, m.cseqNumber > call.inviteCSeq {
                    call.inviteCSeq = m.cseqNumber
                    call.challenge = nil
                }
                return // else a retransmission
            }
            guard registry.entry(m.callID) == nil else { return } // a call already done
            begin(m, now)
        case "INVITE", "UPDATE":
            guard let call, call.state == .active, let onHold = SIPEventReader.holdChange(m, wasOnHold: call.onHold) else { return }
            call.onHold = onHold
            record(SIPCallEvent(title: onHold ? "hold" : "resume", atMs: now,
                                description: "\(side(of: m, in: call)) \(onHold ? "put the call on hold" : "resumed the call")",
                                metadata: [("direction", SIPEventReader.direction(ofSDP: m.body) ?? "sendrecv"), ("by", side(of: m, in: call))]), call)
        case "BYE":
            guard let call, call.state != .ended, isOurDialog(m, call) else { return }
            end(call, by: side(of: m, in: call), reason: "bye", message: m, now)
        // A CANCEL ends nothing by itself (§9.2: it has no effect once a final response was sent, and a 200 may
        // be crossing it); the 487 it brings ends the call, or the ringing limit does.
        case "INFO":
            if let call, call.firstSight(of: m) { record(SIPEventReader.dtmf(m, atMs: now), call) }
        case "REFER":
            if let call, call.firstSight(of: m) { record(SIPEventReader.transfer(m, atMs: now, by: side(of: m, in: call)), call) }
        case "NOTIFY":
            if let call, call.firstSight(of: m) { record(SIPEventReader.transferOutcome(m, atMs: now), call) }
        default:
            return
        }
    }

    private func response(_ m: SIPMessage, _ now: Int64) {
        guard m.cseqMethod == "INVITE", let call = calls[m.callID], call.state == .ringing, m.cseqNumber == call.inviteCSeq,
              m.statusCode >= 200 else { return }
        if m.statusCode < 300 {
            ringing[call.callID] = nil
            call.state = .active
            call.answeredAtMs = now
            call.agentTag = m.toTag
            call.toHeader = m.toHeader
            registry.update(call.callID) { $0.state = .active; $0.answeredAtMs = now }
            record(SIPCallEvent(title: "call_answered", atMs: now, description: "answered by the agent (\(m.statusCode))"), call)
            let callID = call.callID
            environment.persist(call.stored) { [weak self] error in
                if let error { self?.logger.error("could not store call state", metadata: ["call_id": "\(callID)", "error": "\(error)"]) }
            }
        } else if Self.asksForRetry(m.statusCode) {
            guard call.challenge == nil else { return } // a retransmission
            call.challenge = (m.statusCode, m.cseqNumber)
            challengedCalls.append((call, m.cseqNumber), atMs: environment.nowMs + config.transactionLingerMs)
        } else {
            call.agentTag = m.toTag
            end(call, by: m.statusCode == 487 ? "caller" : "agent", reason: m.statusCode == 487 ? "cancelled" : "rejected_\(m.statusCode)",
                message: m, now)
        }
    }

    private func begin(_ m: SIPMessage, _ now: Int64) {
        let sim = m.simulationResultID
            ?? environment.outboundSimulationResultID(dialled: [UserAgentServer.userPart(m.requestURI ?? ""), UserAgentServer.userPart(m.toURI)],
                                                      callID: m.callID)
        let call = ObservedCall(callID: m.callID, callerTag: m.fromTag, simulationResultID: sim, fromHeader: m.fromHeader,
                                toHeader: m.toHeader, sipHeadersJSON: UserAgentServer.headersJSON(m.xHeaders), invitedAtMs: now,
                                inviteCSeq: m.cseqNumber)
        calls[call.callID] = call
        call.begunAtMs = environment.nowMs
        ringing[call.callID] = call
        live += 1
        SIPMetrics.activeCalls.record(live)
        // In the store before the registry shows it to the agent: a record written while the call rings is then
        // committed after the call's row, and a crash or a prune meanwhile keeps both.
        let callID = call.callID
        environment.persist(call.stored) { [weak self] error in
            if let error { self?.logger.error("could not store call state", metadata: ["call_id": "\(callID)", "error": "\(error)"]) }
        }
        registry.upsert(CallEntry(callID: call.callID, simulationResultID: sim, state: .ringing, invitedAtMs: now))
        logger.info("call started", metadata: ["call_id": "\(call.callID)", "simulation_result_id": "\(sim ?? "-")"])
    }

    private func end(_ call: ObservedCall, by: String, reason: String, message: SIPMessage?, _ now: Int64) {
        guard call.state != .ended else { return }
        if ringing[call.callID] === call { ringing[call.callID] = nil }
        record(SIPEventReader.ended(atMs: now, by: by, reason: reason, message: message), call)
        call.state = .ended
        call.endedAtMs = now
        call.endedBy = by
        call.endReason = reason
        live -= 1
        SIPMetrics.activeCalls.record(live)
        metrics.callEnded(reason: reason)
        logger.info("call ended", metadata: ["call_id": "\(call.callID)", "simulation_result_id": "\(call.simulationResultID ?? "-")",
                                             "ended_by": "\(by)", "reason": "\(reason)"])
        registry.update(call.callID) { $0.state = .ended; $0.endedAtMs = now }
        environment.persist(call.stored) { [weak self] error in
            guard let self else { return }
            if let error { self.logger.error("could not store call end", metadata: ["call_id": "\(call.callID)", "error": "\(error)"]) }
            self.environment.callEnded(call.callID)
            // Forget it after retransmissions are over (`sweep`); the registry keeps it as flushed for late lines.
            self.endedCalls.append(call, atMs: self.environment.nowMs + self.config.transactionLingerMs)
        }
    }

    /// Whether an in-dialog request is in the call's dialog: once the agent's tag is known, a forked INVITE's other
    /// dialog (a second 2xx, which the caller ACKs and BYEs at once, RFC 3261 §13.2.2.4) is not the call.
    private func isOurDialog(_ m: SIPMessage, _ call: ObservedCall) -> Bool {
        guard let agentTag = call.agentTag else { return true }
        return m.toTag == agentTag || m.fromTag == agentTag
    }

    /// Which side sent an in-dialog request: the caller's From-tag is the INVITE's.
    private func side(of m: SIPMessage, in call: ObservedCall) -> String {
        m.fromTag == call.callerTag ? "caller" : "agent"
    }

    private func record(_ event: SIPCallEvent?, _ call: ObservedCall) {
        guard config.sipEvents, let event else { return }
        environment.record(event, callID: call.callID)
    }
}

extension CallObserver: CallTracker {
    public func restore(_ stored: [StoredCall]) {
        for s in stored {
            let viaSIP = !s.localTag.isEmpty
            var state = s.state
            if state == .ringing { state = .ended }
            var entry = CallEntry(callID: s.callID, simulationResultID: s.simulationResultID,
                                  state: CallEntry.State(rawValue: state.rawValue) ?? .ended, invitedAtMs: s.invitedAtMs,
                                  answeredAtMs: s.answeredAtMs, endedAtMs: s.endedAtMs ?? (s.state == .ringing ? s.invitedAtMs : nil))
            entry.viaSIP = viaSIP
            entry.flushed = s.flushState != .open
            registry.upsert(entry)
            guard viaSIP, state == .active else { continue }
            let call = ObservedCall(callID: s.callID, callerTag: s.remoteTag, simulationResultID: s.simulationResultID,
                                    fromHeader: s.fromHeader, toHeader: s.toHeader, sipHeadersJSON: s.sipHeadersJSON,
                                    invitedAtMs: s.invitedAtMs, inviteCSeq: 0)
            call.agentTag = s.localTag
            call.answeredAtMs = s.answeredAtMs
            call.state = .active
            calls[s.callID] = call
            live += 1
        }
        SIPMetrics.activeCalls.record(live)
    }

    @discardableResult
    public func endCall(_ callID: String, by: String, reason: String) -> Bool {
        guard let call = calls[callID], call.state != .ended else { return false }
        end(call, by: by, reason: reason, message: nil, environment.nowMs)
        return true
    }
}
