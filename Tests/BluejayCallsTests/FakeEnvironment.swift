import BluejayCalls
import BluejaySIP
import BluejayTestSupport
import BluejayStore

/// A manual clock and a recording transport: the user agent runs exactly as on the event loop, minus sockets.
final class FakeEnvironment: UASEnvironment {
    let clock = ManualClock()

    var nowMs: Int64 { clock.nowMs }
    /// What was sent: the raw bytes, the parsed message (nil when it does not parse as a whole, e.g. a 400 to a
    /// request with no Call-ID), and where it went.
    struct Sent {
        var raw: [UInt8]
        var parsed: SIPMessage?
        var destination: SIPDestination
        /// The parsed message; a test that reads it asserts it parsed.
        var message: SIPMessage { parsed! }
    }
    var sent: [Sent] = []
    var persisted: [StoredCall] = []
    var ended: [String] = []
    /// When false, persist completions wait until `completePersists()`.
    var persistImmediately = true
    private var pendingPersists: [() -> Void] = []

    func send(_ bytes: [UInt8], to destination: SIPDestination) {
        if case .message(let m) = SIPMessage.parse(bytes) {
            sent.append(Sent(raw: bytes, parsed: m, destination: destination))
        } else {
            sent.append(Sent(raw: bytes, parsed: nil, destination: destination))
        }
    }

    func schedule(afterMs: Int64, _ task: @escaping () -> Void) -> SIPTimer { clock.schedule(afterMs: afterMs, task) }

    func persist(_ call: StoredCall, done: @escaping (Error?) -> Void) {
        persisted.append(call)
        if persistImmediately { done(nil) } else { pendingPersists.append { done(nil) } }
    }

    func completePersists() {
        let p = pendingPersists
        pendingPersists = []
        p.forEach { $0() }
    }

    func callEnded(_ callID: String) { ended.append(callID) }

    /// SIP-derived events recorded, by title.
    var events: [String] = []
    func record(_ event: SIPCallEvent, callID: String) { events.append(event.title) }

    func advance(_ ms: Int64) { clock.advance(ms) }

    /// Status codes from the status lines, so messages our parser would refuse still count.
    var statuses: [Int] {
        sent.map { entry in
            let line = String(decoding: entry.raw.prefix(while: { $0 != 13 }), as: UTF8.self).split(separator: " ")
            return line.count > 1 && line[0] == "SIP/2.0" ? Int(line[1]) ?? -1 : 0
        }
    }
    /// Returns what was sent and forgets it. (Not `take`: on an Optional that name is the standard library's.)
    @discardableResult
    func drain() -> [SIPMessage] {
        defer { sent = [] }
        return sent.map { $0.message }
    }
}

enum SIPText {
    static let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

    static func request(_ method: String, callID: String = "call-1@test", branch: String = "z9hG4bK-1", cseq: Int = 1,
                        cseqMethod: String? = nil, fromTag: String = "ft1", toTag: String? = nil,
                        viaHost: String = "192.0.2.10", viaPort: Int = 5060, viaParams: String = "",
                        extra: [String] = [], body: String = "") -> [UInt8] {
        var lines = [
            "\(method) sip:agent@198.51.100.1:5060 SIP/2.0",
            "Via: SIP/2.0/UDP \(viaHost):\(viaPort);branch=\(branch)\(viaParams)",
            "Max-Forwards: 70",
            "From: \"Caller\" <sip:caller@192.0.2.10>;tag=\(fromTag)",
            "To: <sip:agent@198.51.100.1>" + (toTag.map { ";tag=\($0)" } ?? ""),
            "Call-ID: \(callID)",
            "CSeq: \(cseq) \(cseqMethod ?? method)",
            "Contact: <sip:caller@192.0.2.10:5060>",
        ]
        lines += extra
        if !body.isEmpty { lines.append("Content-Type: application/sdp") }
        lines.append("Content-Length: \(body.utf8.count)")
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    static func invite(callID: String = "call-1@test", branch: String? = nil, extra: [String] = ["X-Simulation-Result-Id: sim-1"],
                       viaParams: String = "") -> [UInt8] {
        request("INVITE", callID: callID, branch: branch ?? (callID == "call-1@test" ? "z9hG4bK-1" : "z9hG4bK-\(callID)"),
                viaParams: viaParams, extra: extra, body: sdp)
    }
}
