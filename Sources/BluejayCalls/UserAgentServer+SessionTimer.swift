import BluejaySIP

/// RFC 4028 session timers: advertised only because they are handled; a session nobody refreshes ends.
extension UserAgentServer {
    func negotiateSessionTimer(_ call: UASCall, request: SIPMessage) {
        guard let se = request.sessionExpires else { return }
        let uacSupports = request.supported.contains { $0.lowercased() == "timer" }
        guard uacSupports else { return } // a UAC without timer support cannot be told to refresh; run without
        call.sessionExpires = max(se.seconds, config.minSessionExpires)
        call.refresher = se.refresher?.lowercased() == "uas" ? "uas" : "uac"
    }

    func sessionTimerHeaders(_ call: UASCall) -> [(String, String)] {
        guard let se = call.sessionExpires, let refresher = call.refresher else { return [] }
        return [("Session-Expires", "\(se);refresher=\(refresher)"), ("Require", "timer")]
    }

    func refreshSession(_ call: UASCall, request: SIPMessage) {
        if let se = request.sessionExpires, request.supported.contains(where: { $0.lowercased() == "timer" }) {
            call.sessionExpires = max(se.seconds, config.minSessionExpires)
            call.refresher = se.refresher?.lowercased() == "uas" ? "uas" : "uac"
        }
        armSessionTimer(call)
    }

    /// With the caller refreshing, the session ends if no refresh arrives by expiry minus min(32 s, SE/3) (§10).
    func armSessionTimer(_ call: UASCall) {
        call.sessionTimer?.cancel()
        call.sessionTimer = nil
        guard let se = call.sessionExpires, call.refresher == "uac" else { return }
        let ms = Int64(se) * 1_000 - min(32_000, Int64(se) * 1_000 / 3)
        call.sessionTimer = environment.schedule(afterMs: ms) { [weak self, weak call] in
            guard let self, let call, call.state == .active else { return }
            self.logger.info("session expired without refresh", metadata: ["call_id": "\(call.callID)"])
            let hangUp = self.canHangUp(call)
            self.end(call, by: "system", reason: "session_expired", then: nil)
            if hangUp { self.hangUp(call, reason: "session_expired") } // RFC 4028 §10: the UAS SHOULD send a BYE
        }
    }
}
