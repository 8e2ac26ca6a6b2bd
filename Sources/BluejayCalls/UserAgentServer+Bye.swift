import BluejaySIP

/// The sidecar hanging up (RFC 3261 §15.1.1): when it ends a confirmed call itself (`--max-call-duration`, the
/// session timer, Bluejay's `simulation_ended`), the caller gets a BYE rather than a dialog that silently died.
extension UserAgentServer {
    /// Sends a BYE to the caller's remote target through its route set, over the flow its INVITE came on;
    /// over UDP it is retransmitted until answered or 64·T1 (Timers E/F). The call is over either way.
    /// Not for a call whose 2xx is still unacknowledged (§15: wait for the ACK), nor one restored after a
    /// restart (where its INVITE came from is not kept).
    func hangUp(_ call: UASCall, reason: String) {
        guard let peer = call.peer, let target = call.remoteTarget else { return }
        call.localCSeq += 1
        let branch = "z9hG4bK-bj" + newTag()
        let host = call.localHost.contains(":") ? "[\(call.localHost)]" : call.localHost
        var lines = ["BYE \(target) SIP/2.0",
                     "Via: SIP/2.0/\(peer.transport.rawValue) \(host):\(peer.localPort);branch=\(branch);rport",
                     "Max-Forwards: 70"]
        lines += call.routeSet.map { "Route: \($0)" }
        lines += ["From: \(call.toHeader)", "To: \(call.fromHeader)", "Call-ID: \(call.callID)", "CSeq: \(call.localCSeq) BYE",
                  "Reason: SIP;text=\"\(reason)\"", "User-Agent: \(config.userAgent)", "Content-Length: 0"]
        let bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        let destination = SIPDestination.to(peer)
        environment.send(bytes, to: destination)
        metrics.message(outbound: true, method: "BYE", code: 0)
        logger.info("sent BYE to the caller", metadata: ["call_id": "\(call.callID)", "reason": "\(reason)"])
        guard !peer.transport.isReliable else { return }
        hangUps[branch] = Retransmission.start(bytes, to: destination, config: config, environment: environment) { [weak self] in
            self?.hangUps[branch] = nil
            self?.logger.notice("no answer to our BYE (Timer F)", metadata: ["call_id": "\(call.callID)"])
        }
    }

    /// A response to one of our BYEs: a final one ends its retransmissions. Other responses are not ours.
    func responseReceived(_ response: SIPMessage) {
        guard response.statusCode >= 200, let branch = response.topVia?.branch, let retransmission = hangUps[branch] else { return }
        retransmission.stop()
        hangUps[branch] = nil
    }

    /// Whether ending `call` now should send a BYE: answered, acknowledged, reachable.
    func canHangUp(_ call: UASCall) -> Bool {
        call.state == .active && call.awaitingAck == nil && call.peer != nil && call.remoteTarget != nil
    }
}
