import BluejayCalls
import BluejaySIP

/// RFC 3261 §17.2.3 server-transaction matching: branch + sent-by, or for RFC 2543 peers (no magic cookie)
/// Call-ID, CSeq number, From tag and Via. `seed` is method-free so a CANCEL (and an ACK for a non-2xx) finds its
/// INVITE and derives the INVITE's outgoing branch (§16.11).
struct ServerKey: Hashable {
    let seed: String
    let method: String

    init(_ request: SIPMessage, via: SIPVia) {
        method = request.method == "ACK" ? "INVITE" : request.method
        let sentBy = "\(via.host):\(via.port ?? 5060)"
        if let branch = via.branch, branch.hasPrefix("z9hG4bK") {
            seed = "\(branch)|\(sentBy)"
        } else {
            seed = "2543|\(request.callID)|\(request.cseqNumber)|\(request.fromTag ?? "")|\(sentBy)|\(via.branch ?? "")"
        }
    }

    private init(seed: String, method: String) {
        self.seed = seed
        self.method = method
    }

    func with(method: String) -> ServerKey { ServerKey(seed: seed, method: method) }
}

/// One proxied request: the server transaction towards where it came from, and the client transaction towards
/// where it went (RFC 3261 §16: one target, so one client transaction per server transaction).
final class ProxyTransaction {
    let key: ServerKey
    let method: String
    /// Where the request came from.
    let origin: ProxySide
    let request: SIPMessage
    let responseDestination: SIPDestination
    let received: String?
    let rport: Int?
    /// Our branch on the outgoing request.
    let branch: String

    // Client side.
    var forwarded: SIPMessage?
    var forwardedBytes: [UInt8] = []
    var target: SIPDestination?
    var gotResponse = false
    var gotProvisional = false
    var clientDone = false
    var cancelRequested = false
    var cancelSent = false
    var retransmitTimer: SIPTimer?
    var timeoutTimer: SIPTimer?

    // Server side.
    var lastResponse: [UInt8]?
    var finalStatus: Int?
    var responseTimer: SIPTimer?

    init(key: ServerKey, request: SIPMessage, origin: ProxySide, via: SIPVia, peer: SIPPeer, branch: String) {
        self.key = key
        method = request.method
        self.origin = origin
        self.request = request
        responseDestination = SIPDestination.forResponse(via: via, from: peer)
        received = SIPDestination.received(via: via, from: peer)
        rport = via.rport != .absent ? peer.port : nil
        self.branch = branch
    }

    func stopClientTimers() {
        retransmitTimer?.cancel()
        retransmitTimer = nil
        timeoutTimer?.cancel()
        timeoutTimer = nil
    }
}

/// An outgoing CANCEL (hop-by-hop): retransmitted over UDP until answered (Timer E/F).
final class CancelTransaction {
    var retransmitTimer: SIPTimer?
    var timeoutTimer: SIPTimer?

    func stop() {
        retransmitTimer?.cancel()
        timeoutTimer?.cancel()
        retransmitTimer = nil
        timeoutTimer = nil
    }
}

enum Branch {
    static let cookie = "z9hG4bK"
    static let prefix = "z9hG4bKbj"

    /// Deterministic: the same seed (a retransmission, or the CANCEL of an INVITE) gives the same branch.
    static func derive(seed: String, instance: String) -> String {
        prefix + hex(fnv1a("\(instance)|\(seed)")) + hex(fnv1a("\(seed)#\(instance)"))
    }

    static func fnv1a(_ string: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in string.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
