import BluejayCalls
import BluejayProxy
import BluejaySIP
import BluejayTestSupport

/// A manual clock and a recording transport: the proxy runs exactly as on the event loop, minus sockets.
final class FakeProxyEnvironment: ProxyEnvironment {
    let clock = ManualClock()

    struct Sent {
        var raw: [UInt8]
        var message: SIPMessage
        var destination: SIPDestination
    }

    var nowMs: Int64 { clock.nowMs }
    var sent: [Sent] = []
    var observed: [(message: SIPMessage, side: ProxySide)] = []
    var generated: [(message: SIPMessage, side: ProxySide)] = []
    /// Sends to these hosts fail at once, as a refused TCP connection would.
    var unreachable: Set<String> = []
    weak var core: ProxyCore?

    func send(_ bytes: [UInt8], to destination: SIPDestination) {
        guard case .message(let m) = SIPMessage.parse(bytes) else { fatalError("proxy sent an unparseable message") }
        sent.append(Sent(raw: bytes, message: m, destination: destination))
        if unreachable.contains(destination.host) { core?.sendFailed(to: destination) }
    }

    func schedule(afterMs: Int64, _ task: @escaping () -> Void) -> SIPTimer { clock.schedule(afterMs: afterMs, task) }

    func observe(message: SIPMessage, from side: ProxySide) { observed.append((message, side)) }
    func generated(message: SIPMessage, to side: ProxySide) { generated.append((message, side)) }

    func advance(_ ms: Int64) { clock.advance(ms) }

    /// Returns what was sent and forgets it.
    @discardableResult
    func drain() -> [Sent] {
        defer { sent = [] }
        return sent
    }

    /// Status codes (0 for requests) of what was sent.
    var statuses: [Int] { sent.map { $0.message.statusCode } }
    var methods: [String] { sent.map { $0.message.isRequest ? $0.message.method : String($0.message.statusCode) } }
}

enum ProxyText {
    static let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

    static func request(_ method: String, uri: String = "sip:agent@203.0.113.1:5060", callID: String = "call-1@test",
                        via: String = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c1", cseq: Int = 1, cseqMethod: String? = nil,
                        from: String = "\"Caller\" <sip:caller@192.0.2.10>;tag=ft1", to: String = "<sip:agent@203.0.113.1>",
                        contact: String = "<sip:caller@192.0.2.10:5060>", maxForwards: Int = 70, routes: [String] = [],
                        extra: [String] = [], body: String = "") -> [UInt8] {
        var lines = ["\(method) \(uri) SIP/2.0", "Via: \(via)", "Max-Forwards: \(maxForwards)"]
        lines += routes.map { "Route: \($0)" }
        lines += ["From: \(from)", "To: \(to)", "Call-ID: \(callID)", "CSeq: \(cseq) \(cseqMethod ?? method)", "Contact: \(contact)"]
        lines += extra
        if !body.isEmpty { lines.append("Content-Type: application/sdp") }
        lines.append("Content-Length: \(body.utf8.count)")
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    static func invite(via: String = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c1", maxForwards: Int = 70) -> [UInt8] {
        request("INVITE", via: via, maxForwards: maxForwards, extra: ["X-Simulation-Result-Id: sim-1"], body: sdp)
    }
}
