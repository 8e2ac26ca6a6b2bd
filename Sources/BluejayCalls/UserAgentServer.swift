import BluejayJSON
import BluejaySIP
import BluejayStore
import Logging

/// The RFC 3261 user agent server of mode `uas`: answers calls itself and follows each to its end.
/// Confined to one thread (the SIP event loop); the world reaches it through `UASEnvironment`.
public final class UserAgentServer {
    public static let allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO"
    /// Methods SIP defines that this agent does not take: 405, not 501.
    static let knownMethods: Set<String> = ["REGISTER", "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "REFER", "PRACK"]

    let config: UASConfig
    let registry: CallRegistry
    let environment: UASEnvironment
    var logger: Logger
    var transactions = TransactionTable()
    let metrics = SIPMetrics()
    var calls: [String: UASCall] = [:]
    /// Ended calls kept so retransmitted BYEs still match, forgotten `transactionLingerMs` after the end.
    var endedCalls = ExpiryQueue<UASCall>()
    /// Calls ringing or active, for the concurrent-call limit.
    var liveCalls = 0
    /// Initial INVITEs with nothing sent yet, oldest first, and the one timer that sends their 100 Trying.
    var awaitingAnswer: [ServerTransaction] = []
    var tryingTimer: SIPTimer?
    /// Set while draining: new INVITEs get 503.
    public var acceptingCalls = true
    /// Per-source limits on new calls (`--sip-rate-limit`, `--sip-calls-per-source`); nil: none.
    public var sourceLimiter: SourceLimiter?
    public internal(set) var counters = Counters()
    /// Tags, branches and SDP session ids.
    var random = RandomPool()
    /// Our BYEs awaiting an answer over UDP, by Via branch.
    var hangUps: [String: Retransmission] = [:]

    public struct Counters: Sendable {
        public var received = 0
        public var dropped = 0
        public var badRequests = 0
        public var retransmissionsAbsorbed = 0
        public var rejectedOverLimit = 0
    }

    public init(config: UASConfig, registry: CallRegistry, environment: UASEnvironment, logger: Logger) {
        self.config = config
        self.registry = registry
        self.environment = environment
        self.logger = logger
        SIPMetrics.activeCalls.record(0) // exported from the start, not from the first call
    }

    public var liveCallCount: Int { liveCalls }
    public var transactionCount: Int { transactions.count }

    /// Records a SIP-derived event when they are on.
    func record(_ title: String, _ call: UASCall, atMs: Int64? = nil, description: String? = nil, metadata: [(String, String)] = []) {
        guard config.sipEvents else { return }
        environment.record(SIPCallEvent(title: title, atMs: atMs ?? environment.nowMs, description: description, metadata: metadata),
                           callID: call.callID)
    }

    func record(_ event: SIPCallEvent?, _ call: UASCall) {
        guard config.sipEvents, let event else { return }
        environment.record(event, callID: call.callID)
    }

    /// Drops transactions and ended dialogs whose linger time is over; call about once a second.
    public func sweep() {
        let now = environment.nowMs
        transactions.sweep(nowMs: now)
        endedCalls.expire(nowMs: now) { call in
            if calls[call.callID] === call { calls[call.callID] = nil }
        }
    }

    /// One datagram or framed stream message from `peer`.
    public func receive(_ bytes: [UInt8], from peer: SIPPeer) {
        counters.received += 1
        switch SIPMessage.parse(bytes) {
        case .message(let message):
            metrics.message(outbound: false, method: message.method, code: message.isRequest ? 0 : message.statusCode)
            guard message.isRequest else { return responseReceived(message) } // only our BYEs have client transactions
            handle(message, from: peer)
        case .badRequest(let message, let error):
            counters.badRequests += 1
            logger.debug("bad SIP request", metadata: ["peer": "\(peer.host):\(peer.port)", "error": "\(error)"])
            guard message.isRequest, message.method != "ACK", let via = message.topVia else { return }
            let reason = "Bad Request (\(error))".filter { $0 != "\r" && $0 != "\n" }
            let received = SIPDestination.received(via: via, from: peer)
            let response = message.makeResponse(status: 400, reason: String(reason.prefix(120)), received: received,
                                                rport: via.rport != .absent ? peer.port : nil, headers: serverHeader)
            environment.send(response.serialize(), to: SIPDestination.forResponse(via: via, from: peer))
            metrics.message(outbound: true, method: message.method, code: 400)
        case .drop(let error):
            counters.dropped += 1
            logger.debug("dropped SIP message", metadata: ["peer": "\(peer.host):\(peer.port)", "error": "\(error)"])
        }
    }

    var serverHeader: [(String, String)] { [("Server", config.userAgent)] }

    private func handle(_ request: SIPMessage, from peer: SIPPeer) {
        guard let via = request.topVia else { return }
        let key = TransactionKey(request, via: via)

        if request.method == "ACK" {
            handleACK(request, key: key)
            return
        }
        if let existing = transactions[key] {
            counters.retransmissionsAbsorbed += 1
            if let last = existing.lastResponse {
                environment.send(last, to: existing.destination)
            } else if existing.key.method == "INVITE" && existing.finalStatus == nil {
                respond(existing, 100) // the caller is retransmitting: tell it the answer is coming
            }
            return
        }
        let tx = ServerTransaction(key: key, request: request, via: via, peer: peer)
        transactions.insert(tx)

        switch request.method {
        case "INVITE":
            if request.toTag == nil { handleInitialInvite(tx, peer: peer) } else { handleInDialog(tx, peer: peer) }
        case "CANCEL":
            handleCancel(tx)
        case "BYE", "UPDATE", "INFO":
            handleInDialog(tx, peer: peer)
        case "OPTIONS":
            if request.toTag != nil && dialog(for: request) == nil {
                respond(tx, 481)
            } else {
                respond(tx, 200, headers: [("Allow", Self.allow), ("Accept", "application/sdp"), ("Supported", "timer")])
            }
        default:
            if Self.knownMethods.contains(request.method) {
                if request.toTag != nil && dialog(for: request) == nil { respond(tx, 481) } else { respond(tx, 405, headers: [("Allow", Self.allow)]) }
            } else {
                respond(tx, 501, headers: [("Allow", Self.allow)])
            }
        }
    }

    /// The call an in-dialog request belongs to: same Call-ID, our tag in To, their tag in From.
    func dialog(for request: SIPMessage) -> UASCall? {
        guard let call = calls[request.callID], request.toTag == call.localTag else { return nil }
        if let remote = call.remoteTag, request.fromTag != remote { return nil }
        return call
    }

    /// Sends a response in `tx` and remembers it for retransmissions. A transaction never gets two final responses.
    @discardableResult
    func respond(_ tx: ServerTransaction, _ status: Int, reason: String? = nil, toTag: String? = nil,
                 headers: [(String, String)] = [], contentType: String? = nil, body: [UInt8] = []) -> [UInt8]? {
        if let final = tx.finalStatus {
            logger.warning("refused a second final response", metadata: ["call_id": "\(tx.callID)", "first": "\(final)", "second": "\(status)"])
            return nil
        }
        let bytes = tx.request.responseBytes(status: status, reason: reason, toTag: toTag, received: tx.received,
                                             rport: tx.rport, headers: headers + serverHeader,
                                             contentType: contentType, body: body)
        tx.lastResponse = bytes
        environment.send(bytes, to: tx.destination)
        metrics.message(outbound: true, method: tx.key.method, code: status)
        if status >= 200 {
            tx.finalStatus = status
            tx.request = nil
            transactions.expire(tx.key, atMs: environment.nowMs + config.transactionLingerMs)
            if tx.key.method == "INVITE" && status >= 300 && !tx.destination.peer.transport.isReliable {
                tx.retransmission = Retransmission.start(bytes, to: tx.destination, config: config, environment: environment) {}
            }
        }
        return bytes
    }

    private func handleACK(_ ack: SIPMessage, key: TransactionKey) {
        // ACK to a non-2xx final response: same branch as the INVITE, ends its retransmissions (Timer G).
        if let tx = transactions[key], let status = tx.finalStatus, status >= 300 {
            tx.retransmission?.stop()
            tx.retransmission = nil
            return
        }
        // ACK to a 2xx: its own transaction, matched to the dialog.
        guard let call = dialog(for: ack), let waiting = call.awaitingAck, waiting.cseq == ack.cseqNumber else { return }
        waiting.retransmission?.stop()
        call.awaitingAck = nil
    }
}
