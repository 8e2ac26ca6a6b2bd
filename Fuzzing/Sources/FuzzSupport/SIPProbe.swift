import BluejayCalls
import BluejaySIP

/// What the sidecar does with one received SIP message, minus the sockets: parse, read every field the UAS, the
/// proxy and the passive observer read, and build what they would send back. Checks the parser's promises
/// (`SIPParseOutcome`) and that whatever is accepted re-serialises into something that parses again.
public enum SIPProbe {
    public static func receive(_ bytes: [UInt8]) {
        switch SIPMessage.parse(bytes) {
        case .message(let message):
            accepted(message)
        case .badRequest(let message, let error):
            invariant(message.isRequest, "badRequest for a response: \(error)")
            invariant(message.topVia != nil, "badRequest without a routable top Via: \(error)")
            read(message)
            answerBadRequest(message, error)
        case .drop:
            break
        }
    }

    /// The guarantees of `.message`: routable, identified, validated numbers.
    private static func accepted(_ message: SIPMessage) {
        invariant(message.topVia != nil, "accepted message without a routable top Via")
        invariant(message.cseqNumber <= UInt32(Int32.max), "CSeq \(message.cseqNumber) beyond 2^31-1")
        if message.isRequest {
            invariant(message.method == message.cseqMethod, "method \(message.method) vs CSeq method \(message.cseqMethod)")
            invariant(message.maxForwards.map { (0...255).contains($0) } ?? false, "Max-Forwards \(String(describing: message.maxForwards))")
        } else {
            invariant((100...699).contains(message.statusCode), "status \(message.statusCode)")
        }
        read(message)
        observe(message)

        let wire = message.serialize()
        invariant(!wire.isEmpty, "an accepted message does not serialise")
        guard case .message(let again) = SIPMessage.parse(wire) else {
            invariant(false, "an accepted message no longer parses once serialised:\n\(String(decoding: wire, as: UTF8.self))")
            return
        }
        invariant(again.callID == message.callID && again.cseqNumber == message.cseqNumber
                  && again.method == message.method && again.statusCode == message.statusCode,
                  "serialising changed the dialog identifiers")

        if message.isRequest {
            answer(message)
            forward(message)
        } else {
            let upstream = message.removingTopVia().serialize()
            invariant(!upstream.isEmpty, "a response without its top Via does not serialise")
        }
    }

    /// Every accessor the call paths use; they must not trap on anything the parser let through.
    private static func read(_ m: SIPMessage) {
        _ = (m.method, m.statusCode, m.reasonPhrase, m.requestURI, m.version, m.callID, m.cseqNumber, m.cseqMethod)
        _ = (m.fromTag, m.toTag, m.fromHeader, m.toHeader, m.fromURI, m.toURI, m.fromDisplayName)
        _ = (m.topVia, m.vias, m.maxForwards, m.contactURI, m.contentType, m.body)
        _ = (m.extensionHeaders, m.xHeaders, m.sessionExpires, m.minSE, m.supported, m.require)
        _ = (m.routes, m.recordRoutes, m.requestURIParts, m.contactURIParts)
        let simulationResultID = m.simulationResultID
        invariant(simulationResultID.map { !$0.isEmpty } ?? true, "empty X-Simulation-Result-Id handed out")
        invariant((simulationResultID == nil) || m.simulationResultIDCount >= 1, "X-Simulation-Result-Id without a count")
    }

    /// The passive observer's readers (mirror mode, proxy).
    private static func observe(_ m: SIPMessage) {
        _ = SIPEventReader.direction(ofSDP: m.body)
        guard m.isRequest else { return }
        _ = SIPEventReader.holdChange(m, wasOnHold: false)
        _ = SIPEventReader.holdChange(m, wasOnHold: true)
        _ = SIPEventReader.dtmf(m, atMs: 1)
        _ = SIPEventReader.transfer(m, atMs: 1, by: "caller")
        _ = SIPEventReader.transferOutcome(m, atMs: 1)
        _ = SIPEventReader.ended(atMs: 1, by: "caller", reason: "bye", message: m)
    }

    /// The UAS's 400, built as `UserAgentServer.receive` builds it.
    private static func answerBadRequest(_ m: SIPMessage, _ error: SIPParseError) {
        guard let via = m.topVia else { return }
        let reason = String("Bad Request (\(error))".filter { $0 != "\r" && $0 != "\n" }.prefix(120))
        let response = m.makeResponse(status: 400, reason: reason, received: "192.0.2.7",
                                      rport: via.rport != .absent ? 5070 : nil, headers: [("Server", "fuzz")])
        let wire = response.serialize()
        invariant(wire.starts(with: Array("SIP/2.0 400 ".utf8)), "the 400 does not start with its status line")
    }

    /// The UAS's answer to a request: a 200 with an SDP answer for an offer, as for an INVITE, built as
    /// `UserAgentServer.respond` builds it (copied from the request's headers where the copy can stand for
    /// libosip2's response).
    private static func answer(_ m: SIPMessage) {
        let sdp = m.body.isEmpty ? nil : SDPAnswer.answer(to: m.body, localAddress: "192.0.2.7", sessionID: 42)
        let wire = m.responseBytes(status: 200, toTag: "fuzz-tag", received: "192.0.2.7", rport: 5070,
                                   headers: [("Contact", "<sip:fuzz@192.0.2.7:5060>"), ("Server", "fuzz")],
                                   contentType: sdp == nil ? nil : "application/sdp", body: sdp ?? [])
        guard case .message(let parsed) = SIPMessage.parse(wire) else {
            invariant(false, "our 200 does not parse:\n\(String(decoding: wire, as: UTF8.self))")
            return
        }
        invariant(parsed.statusCode == 200 && parsed.callID == m.callID, "our 200 lost its status or Call-ID")
        invariant(parsed.body == (sdp ?? []), "our 200 lost its body")
    }

    /// The proxy's forwarded copy (RFC 3261 §16.6).
    private static func forward(_ m: SIPMessage) {
        let ours = SIPVia(transport: "UDP", host: "192.0.2.9", port: 5060, branch: "z9hG4bK-fuzz")
        let copy = m.forwarded(via: ours, received: "192.0.2.7", rport: 5070, recordRoutes: ["sip:192.0.2.9:5060;lr"],
                               removeTopRoute: { $0.host == "192.0.2.9" })
        let wire = copy.serialize()
        guard case .message(let parsed) = SIPMessage.parse(wire) else {
            invariant(false, "the forwarded copy does not parse:\n\(String(decoding: wire, as: UTF8.self))")
            return
        }
        invariant(parsed.topVia?.branch == "z9hG4bK-fuzz" && parsed.callID == m.callID, "the forwarded copy lost our Via or the Call-ID")
        invariant(parsed.body == m.body, "the forwarded copy changed the body")
        if m.method == "INVITE" {
            _ = copy.cancelRequest().serialize()
        }
    }
}
