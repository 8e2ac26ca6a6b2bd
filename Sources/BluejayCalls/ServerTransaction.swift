import BluejaySIP

/// RFC 3261 §17.2.3 matching: branch + sent-by + method (ACK matches its INVITE). Requests without an
/// RFC 3261 branch are matched on Call-ID, CSeq and From tag, as §17.2.3 allows for RFC 2543 peers.
struct TransactionKey: Hashable {
    let branch: String
    let sentBy: String
    let method: String

    init(_ request: SIPMessage, via: SIPVia) {
        let method = request.method == "ACK" ? "INVITE" : request.method
        self.method = method
        sentBy = "\(via.host):\(via.port ?? 5060)"
        if let branch = via.branch, branch.hasPrefix("z9hG4bK") {
            self.branch = branch
        } else {
            self.branch = "2543:\(request.callID)|\(request.cseqNumber)|\(request.fromTag ?? "")|\(via.branch ?? "")"
        }
    }

    /// The INVITE transaction a CANCEL or ACK refers to.
    func with(method: String) -> TransactionKey { TransactionKey(branch: branch, sentBy: sentBy, method: method) }

    private init(branch: String, sentBy: String, method: String) {
        self.branch = branch
        self.sentBy = sentBy
        self.method = method
    }
}

/// A server transaction: the request, where its answers go, and its last response (re-sent on retransmissions).
final class ServerTransaction {
    let key: TransactionKey
    /// The parsed request, for building responses; released with the final response, since only
    /// `lastResponse` is needed while the transaction lingers for retransmissions.
    var request: SIPMessage!
    let callID: String
    let cseqNumber: UInt32
    let destination: SIPDestination
    let received: String?
    let rport: Int?
    var lastResponse: [UInt8]?
    var finalStatus: Int?
    /// When the request arrived (INVITE: when its 100 Trying falls due if nothing was sent by then).
    var arrivedAtMs: Int64 = 0
    /// Non-2xx final responses to INVITE over UDP, until the ACK (Timer G).
    var retransmission: Retransmission?
    weak var call: UASCall?

    init(key: TransactionKey, request: SIPMessage, via: SIPVia, peer: SIPPeer) {
        self.key = key
        self.request = request
        callID = request.callID
        cseqNumber = request.cseqNumber
        destination = SIPDestination.forResponse(via: via, from: peer)
        received = SIPDestination.received(via: via, from: peer)
        rport = via.rport != .absent ? peer.port : nil
    }
}

/// Live transactions, expired in the order they completed: every transaction lingers for the same time,
/// so a FIFO sweep replaces one timer per transaction.
struct TransactionTable {
    private(set) var byKey: [TransactionKey: ServerTransaction] = [:]
    private var expiries = ExpiryQueue<TransactionKey>()

    subscript(key: TransactionKey) -> ServerTransaction? { byKey[key] }

    mutating func insert(_ transaction: ServerTransaction) { byKey[transaction.key] = transaction }

    mutating func expire(_ key: TransactionKey, atMs: Int64) { expiries.append(key, atMs: atMs) }

    var count: Int { byKey.count }

    mutating func sweep(nowMs: Int64) {
        expiries.expire(nowMs: nowMs) { key in
            if let tx = byKey.removeValue(forKey: key) { tx.retransmission?.stop() }
        }
    }
}

/// Re-sends a final response over UDP at T1, 2·T1 … capped at T2, until stopped or 64·T1 have passed (Timers G/H).
final class Retransmission {
    private var timer: SIPTimer?
    private(set) var stopped = false

    func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
    }

    static func start(_ bytes: [UInt8], to destination: SIPDestination, config: UASConfig, environment: UASEnvironment,
                      onGiveUp: @escaping () -> Void) -> Retransmission {
        let r = Retransmission()
        r.arm(bytes, destination, interval: config.t1Ms, elapsed: 0, config: config, environment: environment, onGiveUp: onGiveUp)
        return r
    }

    private func arm(_ bytes: [UInt8], _ destination: SIPDestination, interval: Int64, elapsed: Int64, config: UASConfig,
                     environment: UASEnvironment, onGiveUp: @escaping () -> Void) {
        timer = environment.schedule(afterMs: interval) { [weak self, weak environment] in
            guard let self, let environment, !self.stopped else { return }
            let total = elapsed + interval
            if total >= 64 * config.t1Ms {
                self.stopped = true
                onGiveUp()
                return
            }
            environment.send(bytes, to: destination)
            self.arm(bytes, destination, interval: min(interval * 2, config.t2Ms), elapsed: total, config: config,
                     environment: environment, onGiveUp: onGiveUp)
        }
    }
}
