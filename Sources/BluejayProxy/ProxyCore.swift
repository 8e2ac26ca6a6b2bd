import BluejayCalls
import BluejaySIP
import Logging

/// The transaction-stateful SIP proxy of mode `proxy` (RFC 3261 §16): relays requests from callers to the upstream
/// (the agent's PBX or UA) and requests from the upstream to where their Route set or Request-URI points, and
/// relays responses back along the Via path. SDP is never touched, so media flows directly between the ends.
/// Confined to one thread (the SIP event loop); the world reaches it through `ProxyEnvironment`.
public final class ProxyCore {
    /// Methods whose initial requests we Record-Route (§16.6 step 4).
    static let recordRouteMethods: Set<String> = ["INVITE", "SUBSCRIBE", "REFER"]

    public let config: ProxyConfig
    let environment: ProxyEnvironment
    var logger: Logger
    var servers: [ServerKey: ProxyTransaction] = [:]
    /// Client transactions by "branch|method" (CANCEL never has its own entry here: see `cancels`).
    var clients: [String: ProxyTransaction] = [:]
    var cancels: [String: CancelTransaction] = [:]
    /// Open TCP connections by "host|port" of the far end, from what we received on them.
    var flows: [String: Int] = [:]
    private let ourHosts: Set<String>
    public internal(set) var counters = Counters()

    public struct Counters: Sendable, Equatable {
        public var received = 0
        public var dropped = 0
        public var badRequests = 0
        public var forwardedRequests = 0
        public var forwardedResponses = 0
        public var retransmissionsAbsorbed = 0
        public var timeouts = 0
        public var sendFailures = 0
    }

    public init(config: ProxyConfig, environment: ProxyEnvironment, logger: Logger = Logger(label: "bluejay.proxy")) {
        self.config = config
        self.environment = environment
        self.logger = logger
        ourHosts = config.localHosts.union([config.advertisedHost])
    }

    /// Live server transactions (pending or lingering for retransmissions).
    public var transactionCount: Int { servers.count }
    /// Cleared while the sidecar drains: new INVITEs get 503; in-dialog requests are still relayed.
    public var acceptingCalls = true
    /// Per-source limits on callers' new calls; the upstream is never limited. Nil: none.
    public var sourceLimiter: SourceLimiter?

    /// Which side a message from `peer` comes from: the upstream's address is the upstream, anything else a caller.
    /// A request over a connection the agent opened itself (TCP from an ephemeral port: a call it dials out) is the
    /// upstream's when it comes from the upstream's host and its Via's sent-by is the upstream's address.
    public func side(of peer: SIPPeer, message: SIPMessage? = nil) -> ProxySide {
        let upstream = config.upstream
        if peer.host == upstream.host && peer.port == upstream.port { return .upstream }
        if peer.transport.isReliable, peer.host == upstream.host, let message, message.isRequest, let via = message.topVia,
           via.host == upstream.host, (via.port ?? 5060) == upstream.port {
            return .upstream
        }
        return .caller
    }

    // MARK: Input

    /// One datagram or framed stream message from `peer`.
    public func receive(_ bytes: [UInt8], from peer: SIPPeer) {
        counters.received += 1
        if peer.transport.isReliable { flows[flowKey(peer.host, peer.port)] = peer.channelID }
        switch SIPMessage.parse(bytes) {
        case .message(let message):
            let side = side(of: peer, message: message)
            if message.isRequest {
                handleRequest(message, from: peer, side: side)
            } else {
                handleResponse(message, side: side)
            }
        case .badRequest(let message, let error):
            let side = side(of: peer)
            counters.badRequests += 1
            logger.debug("bad SIP request", metadata: ["peer": "\(peer.host):\(peer.port)", "error": "\(error)"])
            guard message.isRequest, message.method != "ACK", let via = message.topVia else { return }
            let reason = String("Bad Request (\(error))".filter { $0 != "\r" && $0 != "\n" }.prefix(120))
            let response = message.makeResponse(status: 400, reason: reason, received: SIPDestination.received(via: via, from: peer),
                                                rport: via.rport != .absent ? peer.port : nil)
            environment.send(response.serialize(), to: SIPDestination.forResponse(via: via, from: peer))
            environment.generated(message: response, to: side)
        case .drop(let error):
            counters.dropped += 1
            logger.debug("dropped SIP message", metadata: ["peer": "\(peer.host):\(peer.port)", "error": "\(error)"])
        }
    }

    /// The environment could not deliver to `destination` (connection refused, ICMP unreachable, ...): every request
    /// still waiting for a first response from there is answered 503 (RFC 3261 §16.7 step 6 / §16.9).
    public func sendFailed(to destination: SIPDestination) {
        counters.sendFailures += 1
        let failed = clients.values.filter { tx in
            guard !tx.gotResponse, !tx.clientDone, let target = tx.target else { return false }
            return target.peer.transport == destination.peer.transport && target.host == destination.host && target.port == destination.port
        }
        for tx in failed {
            logger.info("upstream unreachable", metadata: ["call_id": "\(tx.request.callID)", "to": "\(destination.host):\(destination.port)"])
            giveUp(tx, status: 503)
        }
    }

    /// A TCP connection is gone; later sends to its far end open a new one.
    public func connectionClosed(channelID: Int) {
        flows = flows.filter { $0.value != channelID }
    }

    // MARK: Requests

    private func handleRequest(_ request: SIPMessage, from peer: SIPPeer, side: ProxySide) {
        guard let via = request.topVia else { return }
        let key = ServerKey(request, via: via)

        if request.method == "ACK" {
            environment.observe(message: request, from: side)
            if let invite = servers[key], let status = invite.finalStatus, status >= 300 {
                // Hop-by-hop ACK for a non-2xx we forwarded: ours went upstream already.
                invite.responseTimer?.cancel()
                invite.responseTimer = nil
                return
            }
            forwardStateless(request, via: via, seed: key.seed + "|ACK", from: peer, side: side) // end-to-end ACK for a 2xx
            return
        }
        if let existing = servers[key] {
            counters.retransmissionsAbsorbed += 1
            if let last = existing.lastResponse { environment.send(last, to: existing.responseDestination) }
            return
        }
        environment.observe(message: request, from: side) // once: its retransmissions were absorbed above

        let tx = ProxyTransaction(key: key, request: request, origin: side, via: via, peer: peer,
                                  branch: Branch.derive(seed: key.seed, instance: config.instanceID))
        if let hops = request.maxForwards, hops <= 0 {
            servers[key] = tx
            respond(tx, 483)
            return
        }
        if request.method == "CANCEL" {
            guard let invite = servers[key.with(method: "INVITE")] else {
                forwardStateless(request, via: via, seed: key.seed, from: peer, side: side) // §16.10: no context
                return
            }
            servers[key] = tx
            respond(tx, 200)
            cancel(invite)
            return
        }
        servers[key] = tx
        if request.method == "INVITE" && request.toTag == nil && !acceptingCalls {
            respond(tx, 503, headers: [("Retry-After", "5")]) // draining: new calls go elsewhere, dialogs go on
            return
        }
        if request.method == "INVITE" && request.toTag == nil && side == .caller,
           let refusal = sourceLimiter?.admit(callID: request.callID, source: peer.host, nowMs: environment.nowMs).refusal {
            respond(tx, refusal.status, reason: refusal.reason, headers: [("Retry-After", String(refusal.retryAfterSeconds))])
            return
        }
        if request.method == "INVITE" { respond(tx, 100) }
        guard let hop = nextHop(request, side: side, peer: peer) else {
            respond(tx, 503, reason: "No Route")
            return
        }
        forward(tx, to: hop, inbound: peer)
    }

    /// The next hop of a request (§16.4, §16.5, §16.12): our own Route entries are skipped; the next Route wins;
    /// else a caller's in-dialog request goes to its Request-URI and every other caller request to the upstream;
    /// an upstream request goes to its Request-URI. Numeric hosts only.
    func nextHop(_ request: SIPMessage, side: ProxySide, peer: SIPPeer) -> SIPDestination? {
        if let route = request.routes.drop(while: isUs).first {
            if let hop = hop(to: route, inbound: peer) { return hop }
            return side == .caller ? upstreamHop(inbound: peer) : nil
        }
        let uri = request.requestURIParts
        if side == .caller {
            if request.toTag != nil, let uri, !isUs(uri), let hop = hop(to: uri, inbound: peer) { return hop }
            return upstreamHop(inbound: peer)
        }
        guard let uri, !isUs(uri) else { return nil }
        return hop(to: uri, inbound: peer)
    }

    private func hop(to uri: SIPURIParts, inbound: SIPPeer) -> SIPDestination? {
        guard uri.scheme == "sip", uri.hasNumericHost, let transport = ProxyConfig.transport(uri.transport) else { return nil }
        return destination(transport, uri.maddr ?? uri.host, uri.port ?? 5060, inbound: inbound)
    }

    private func upstreamHop(inbound: SIPPeer) -> SIPDestination {
        destination(config.upstream.transport, config.upstream.host, config.upstream.port, inbound: inbound)
    }

    /// UDP: from the listener the request arrived on when it arrived over UDP; TCP: over a connection we know to that
    /// address; otherwise channel 0 (the environment chooses or connects).
    private func destination(_ transport: SIPTransport, _ host: String, _ port: Int, inbound: SIPPeer?) -> SIPDestination {
        var channel = 0
        if transport.isReliable {
            channel = flows[flowKey(host, port)] ?? 0
        } else if let inbound, inbound.transport == .udp {
            channel = inbound.channelID
        }
        let peer = SIPPeer(transport: transport, host: host, port: port, channelID: channel, localPort: config.port(for: transport))
        return SIPDestination.to(peer)
    }

    func isUs(_ uri: SIPURIParts) -> Bool {
        let port = uri.port ?? 5060
        return ourHosts.contains(uri.maddr ?? uri.host) && (port == config.udpPort || port == config.tcpPort)
    }

    private func ourVia(_ transport: SIPTransport, branch: String) -> SIPVia {
        SIPVia(transport: transport.rawValue, host: config.advertisedHost, port: config.port(for: transport), branch: branch)
    }

    private func recordRouteURI(_ transport: SIPTransport) -> String {
        let host = config.advertisedHost.contains(":") ? "[\(config.advertisedHost)]" : config.advertisedHost
        return "sip:\(host):\(config.port(for: transport));transport=\(transport.rawValue.lowercased());lr"
    }

    private func forward(_ tx: ProxyTransaction, to hop: SIPDestination, inbound: SIPPeer) {
        var recordRoutes: [String] = []
        if config.recordRoute, Self.recordRouteMethods.contains(tx.method), tx.request.toTag == nil {
            // Facing the next hop on top; when the two hops use different transports, one entry per side (RFC 5658).
            let outward = recordRouteURI(hop.peer.transport)
            let inward = recordRouteURI(inbound.transport)
            recordRoutes = outward == inward ? [outward] : [outward, inward]
        }
        let out = tx.request.forwarded(via: ourVia(hop.peer.transport, branch: tx.branch), received: tx.received, rport: tx.rport,
                                       recordRoutes: recordRoutes, removeTopRoute: isUs)
        tx.forwarded = out
        tx.forwardedBytes = out.serialize()
        tx.target = hop
        clients[clientKey(tx.branch, tx.method)] = tx

        let t1 = config.t1Ms
        tx.timeoutTimer = environment.schedule(afterMs: config.transactionTimeoutMs) { [weak self, weak tx] in
            guard let self, let tx, !tx.clientDone else { return }
            if tx.method == "INVITE" && tx.gotResponse { return } // Proceeding: Timer C is in charge
            self.counters.timeouts += 1
            self.logger.info("no response from next hop", metadata: ["call_id": "\(tx.request.callID)", "method": "\(tx.method)"])
            self.giveUp(tx, status: 408)
        }
        if !hop.peer.transport.isReliable { armRetransmit(tx, interval: t1) }
        counters.forwardedRequests += 1
        environment.send(tx.forwardedBytes, to: hop)
    }

    /// Timer A (INVITE: doubling) / Timer E (non-INVITE: doubling up to T2, T2 once a provisional came).
    private func armRetransmit(_ tx: ProxyTransaction, interval: Int64) {
        tx.retransmitTimer = environment.schedule(afterMs: interval) { [weak self, weak tx] in
            guard let self, let tx, !tx.clientDone, let target = tx.target else { return }
            if tx.method == "INVITE" && tx.gotResponse { return }
            self.environment.send(tx.forwardedBytes, to: target)
            let next = tx.method == "INVITE" ? interval * 2 : (tx.gotProvisional ? self.config.t2Ms : min(interval * 2, self.config.t2Ms))
            self.armRetransmit(tx, interval: next)
        }
    }

    /// Stateless forwarding: the ACK for a 2xx (end-to-end) and a CANCEL that matches nothing (§16.10, §16.11).
    private func forwardStateless(_ request: SIPMessage, via: SIPVia, seed: String, from peer: SIPPeer, side: ProxySide) {
        if let hops = request.maxForwards, hops <= 0 { return }
        guard let hop = nextHop(request, side: side, peer: peer) else { return }
        let out = request.forwarded(via: ourVia(hop.peer.transport, branch: Branch.derive(seed: seed, instance: config.instanceID)),
                                    received: SIPDestination.received(via: via, from: peer),
                                    rport: via.rport != .absent ? peer.port : nil, removeTopRoute: isUs)
        counters.forwardedRequests += 1
        environment.send(out.serialize(), to: hop)
    }

    /// The caller cancelled: CANCEL the forwarded INVITE with its branch (§16.10), once it had a provisional response.
    private func cancel(_ invite: ProxyTransaction) {
        guard invite.finalStatus == nil, !invite.clientDone, invite.forwarded != nil else {
            if invite.finalStatus == nil { respond(invite, 487) }
            return
        }
        invite.cancelRequested = true
        if invite.gotProvisional { sendCancel(invite) }
    }

    private func sendCancel(_ invite: ProxyTransaction) {
        guard !invite.cancelSent, let forwarded = invite.forwarded, let target = invite.target else { return }
        invite.cancelSent = true
        let bytes = forwarded.cancelRequest().serialize()
        let cancel = CancelTransaction()
        cancels[invite.branch] = cancel
        environment.send(bytes, to: target)
        if !target.peer.transport.isReliable { armCancelRetransmit(cancel, bytes, target, interval: config.t1Ms) }
        cancel.timeoutTimer = environment.schedule(afterMs: config.transactionTimeoutMs) { [weak self, weak invite] in
            guard let self, let invite else { return }
            self.cancels[invite.branch]?.stop()
            self.cancels[invite.branch] = nil
            if !invite.clientDone { self.giveUp(invite, status: 408) }
        }
    }

    private func armCancelRetransmit(_ cancel: CancelTransaction, _ bytes: [UInt8], _ target: SIPDestination, interval: Int64) {
        cancel.retransmitTimer = environment.schedule(afterMs: interval) { [weak self, weak cancel] in
            guard let self, let cancel else { return }
            self.environment.send(bytes, to: target)
            self.armCancelRetransmit(cancel, bytes, target, interval: min(interval * 2, self.config.t2Ms))
        }
    }

    /// No (final) response will come: answer the request ourselves; an INVITE still ringing is cancelled upstream.
    private func giveUp(_ tx: ProxyTransaction, status: Int) {
        if tx.method == "INVITE" && tx.gotProvisional && !tx.cancelSent { sendCancel(tx) }
        tx.clientDone = true
        tx.stopClientTimers()
        respond(tx, status)
    }

    // MARK: Responses

    private func handleResponse(_ response: SIPMessage, side: ProxySide) {
        guard let via = response.topVia, let branch = via.branch, isOurVia(via) else {
            counters.dropped += 1
            logger.debug("response not for us", metadata: ["call_id": "\(response.callID)"])
            return
        }
        environment.observe(message: response, from: side)
        let method = response.cseqMethod
        let status = response.statusCode
        if method == "CANCEL", let cancel = cancels[branch] {
            if status >= 200 {
                cancel.stop()
                cancels[branch] = nil
            } else {
                cancel.retransmitTimer?.cancel()
            }
            return
        }
        guard let tx = clients[clientKey(branch, method)] else {
            // No transaction (a 2xx retransmission after it ended, the answer to a stateless CANCEL): by Via alone.
            if status != 100 { forwardStateless(response) }
            return
        }
        tx.gotResponse = true
        if status < 200 {
            // Timer C (§16.7 step 2): from the first provisional, and again at each one above 100, so a call that
            // keeps ringing (180, 183 ...) is not cancelled while it still rings.
            if tx.method == "INVITE", !tx.gotProvisional || status > 100 {
                tx.stopClientTimers()
                tx.timeoutTimer = environment.schedule(afterMs: config.timerCMs) { [weak self, weak tx] in
                    guard let self, let tx, !tx.clientDone else { return }
                    self.counters.timeouts += 1
                    self.giveUp(tx, status: 408)
                }
            }
            tx.gotProvisional = true
            if tx.cancelRequested { sendCancel(tx) }
            if status != 100, tx.finalStatus == nil { relay(response, for: tx) } // 100 is hop-by-hop
            return
        }

        let first = !tx.clientDone
        tx.clientDone = true
        tx.stopClientTimers()
        if tx.method == "INVITE" && status >= 300 {
            if let forwarded = tx.forwarded, let target = tx.target {
                environment.send(forwarded.ackForNon2xx(response: response).serialize(), to: target)
            }
            if first, tx.finalStatus == nil { relay(response, for: tx) }
            return
        }
        // Every 2xx to an INVITE goes back (retransmissions too: the ACK is end-to-end); other finals once.
        if tx.method == "INVITE" || (first && tx.finalStatus == nil) { relay(response, for: tx) }
    }

    private func isOurVia(_ via: SIPVia) -> Bool {
        guard let branch = via.branch, branch.hasPrefix(Branch.prefix) else { return false }
        return ourHosts.contains(via.host)
    }

    /// Pops our Via and sends the response back on the server transaction (same connection for TCP).
    private func relay(_ response: SIPMessage, for tx: ProxyTransaction) {
        let bytes = response.removingTopVia().serialize()
        counters.forwardedResponses += 1
        tx.lastResponse = bytes
        environment.send(bytes, to: tx.responseDestination)
        if response.statusCode >= 200 && tx.finalStatus == nil { completed(tx, status: response.statusCode, bytes: bytes) }
    }

    /// A response without a transaction: pop our Via and send it where the next Via says (§18.2.2, RFC 3581).
    private func forwardStateless(_ response: SIPMessage) {
        let out = response.removingTopVia()
        guard let via = out.topVia, let transport = SIPTransport(rawValue: via.transport) else { return }
        let host: String
        let port: Int
        if let maddr = via.addressMaddr {
            host = maddr
            port = via.port ?? 5060
        } else {
            host = via.received ?? via.host
            if case .value(let rport) = via.rport { port = rport } else { port = via.port ?? 5060 }
        }
        counters.forwardedResponses += 1
        environment.send(out.serialize(), to: destination(transport, host, port, inbound: nil))
    }

    // MARK: Server side

    /// A response of our own on the server transaction. A transaction never gets two final responses.
    private func respond(_ tx: ProxyTransaction, _ status: Int, reason: String? = nil, headers: [(String, String)] = []) {
        guard tx.finalStatus == nil else { return }
        let toTag = status > 100 ? "bj" + Branch.hex(Branch.fnv1a(tx.key.seed)) : nil
        let response = tx.request.makeResponse(status: status, reason: reason, toTag: toTag, received: tx.received, rport: tx.rport,
                                               headers: headers)
        let bytes = response.serialize()
        tx.lastResponse = bytes
        environment.send(bytes, to: tx.responseDestination)
        environment.generated(message: response, to: tx.origin)
        if status >= 200 { completed(tx, status: status, bytes: bytes) }
    }

    /// Final response sent: retransmit a non-2xx to an INVITE over UDP until the ACK (Timer G), and keep the
    /// transaction for retransmissions (64·T1) before forgetting it.
    private func completed(_ tx: ProxyTransaction, status: Int, bytes: [UInt8]) {
        tx.finalStatus = status
        if tx.method == "INVITE" && status >= 300 && !tx.responseDestination.peer.transport.isReliable {
            armResponseRetransmit(tx, bytes, interval: config.t1Ms, elapsed: 0)
        }
        _ = environment.schedule(afterMs: config.transactionTimeoutMs) { [weak self, weak tx] in
            guard let self, let tx else { return }
            tx.responseTimer?.cancel()
            tx.stopClientTimers()
            if self.servers[tx.key] === tx { self.servers[tx.key] = nil }
            let client = self.clientKey(tx.branch, tx.method)
            if self.clients[client] === tx { self.clients[client] = nil }
        }
    }

    private func armResponseRetransmit(_ tx: ProxyTransaction, _ bytes: [UInt8], interval: Int64, elapsed: Int64) {
        tx.responseTimer = environment.schedule(afterMs: interval) { [weak self, weak tx] in
            guard let self, let tx else { return }
            let total = elapsed + interval
            guard total < self.config.transactionTimeoutMs else { return }
            self.environment.send(bytes, to: tx.responseDestination)
            self.armResponseRetransmit(tx, bytes, interval: min(interval * 2, self.config.t2Ms), elapsed: total)
        }
    }

    private func clientKey(_ branch: String, _ method: String) -> String { "\(branch)|\(method)" }
    private func flowKey(_ host: String, _ port: Int) -> String { "\(host)|\(port)" }
}
