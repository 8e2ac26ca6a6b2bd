import COSIP2

/// What a stateful proxy (RFC 3261 §16) needs beyond the user agent's accessors: routing sets, and copies of a
/// parsed message edited in place with libosip2 (never re-parsed from text).
extension SIPMessage {
    // MARK: Routing accessors

    /// Route header URIs, top first; entries without a usable host are left out.
    public var routes: [SIPURIParts] { uris(in: osip.field(\.routes)) }

    /// Record-Route header URIs, top first.
    public var recordRoutes: [SIPURIParts] { uris(in: osip.field(\.record_routes)) }

    /// The Request-URI's parts; nil for responses.
    public var requestURIParts: SIPURIParts? {
        guard isRequest, !requestLineRecovered, let uri = osip.pointee.req_uri else { return nil }
        return SIPURIParts(uri)
    }

    /// The first Contact URI's parts.
    public var contactURIParts: SIPURIParts? {
        guard let contact = OSIP.first(UnsafePointer(osip.field(\.contacts)), as: osip_contact_t.self),
              let uri = contact.pointee.url else { return nil }
        return SIPURIParts(uri)
    }

    private func uris(in list: UnsafeMutablePointer<osip_list_t>) -> [SIPURIParts] {
        OSIP.elements(UnsafePointer(list), as: osip_from_t.self).compactMap { entry in
            entry.pointee.url.flatMap(SIPURIParts.init)
        }
    }

    // MARK: Forwarding (RFC 3261 §16.6)

    /// A copy of this request as a proxy forwards it (§16.6):
    /// - `received`/`rport` stamp the incoming top Via first (§18.2.1, RFC 3581 §4: `rport` only if it was asked for);
    /// - `via` goes on top (its `rport` is written bare when `.requested`);
    /// - Max-Forwards is decremented (added as 70 when absent);
    /// - `recordRoutes` (URIs such as `sip:192.0.2.1:5060;transport=udp;lr`) are added on top of any Record-Route,
    ///   the first of them topmost;
    /// - while `removeTopRoute` says the top Route is ours, it is removed (§16.4);
    /// - `requestURI` replaces the Request-URI when given.
    /// Everything else (extension headers with their spelling, the body) is carried over unchanged.
    public func forwarded(via: SIPVia, received: String? = nil, rport: Int? = nil, decrementMaxForwards: Bool = true,
                          recordRoutes: [String] = [], removeTopRoute: ((SIPURIParts) -> Bool)? = nil,
                          requestURI: String? = nil) -> SIPMessage {
        let copy = clonedOSIP()
        if let top = OSIP.first(UnsafePointer(copy.field(\.vias)), as: osip_via_t.self) {
            Self.stamp(top, received: received, rport: rport)
        }
        if let ours = Self.makeVia(via) { osip_list_add(copy.field(\.vias), ours, 0) }

        if decrementMaxForwards {
            let hops = maxForwards ?? 70
            let value = String(max(hops - 1, 0))
            if let header = Self.otherHeader(copy, "max-forwards") {
                OSIP.free(header.pointee.hvalue)
                header.pointee.hvalue = OSIP.strdup(value)
            } else {
                _ = value.withCString { osip_message_set_header(copy, "Max-Forwards", $0) }
            }
        }

        if let removeTopRoute {
            while let top = OSIP.first(UnsafePointer(copy.field(\.routes)), as: osip_from_t.self),
                  let uri = top.pointee.url, let parts = SIPURIParts(uri), removeTopRoute(parts) {
                osip_list_remove(copy.field(\.routes), 0)
                osip_from_free(top)
            }
        }

        for uri in recordRoutes.reversed() {
            var raw: UnsafeMutablePointer<osip_from_t>?
            guard osip_from_init(&raw) == 0, let entry = raw else { continue }
            if "<\(uri)>".withCString({ osip_from_parse(entry, $0) }) == 0 {
                osip_list_add(copy.field(\.record_routes), entry, 0)
            } else {
                osip_from_free(entry)
            }
        }

        if let requestURI {
            var raw: UnsafeMutablePointer<osip_uri_t>?
            if osip_uri_init(&raw) == 0, let uri = raw {
                if requestURI.withCString({ osip_uri_parse(uri, $0) }) == 0 {
                    if let old = copy.pointee.req_uri { osip_uri_free(old) }
                    osip_message_set_uri(copy, uri)
                } else {
                    osip_uri_free(uri)
                }
            }
        }
        return finish(copy)
    }

    /// A copy of this response without its top Via, to pass on to the next hop (§16.7 step 9).
    public func removingTopVia() -> SIPMessage {
        let copy = clonedOSIP()
        if let top = OSIP.first(UnsafePointer(copy.field(\.vias)), as: osip_via_t.self) {
            osip_list_remove(copy.field(\.vias), 0)
            osip_via_free(top)
        }
        return finish(copy)
    }

    /// The ACK for a non-2xx final `response` to this INVITE (as it was sent by us), RFC 3261 §17.1.1.3:
    /// same Request-URI, top Via (so the same branch), From, Call-ID, CSeq number and Route set; To from the response.
    public func ackForNon2xx(response: SIPMessage) -> SIPMessage {
        hopByHopRequest(method: "ACK", to: response.osip.pointee.to)
    }

    /// The CANCEL for this INVITE as it was sent by us (RFC 3261 §9.1): same Request-URI, top Via (branch), From,
    /// To, Call-ID, CSeq number and Route set.
    public func cancelRequest() -> SIPMessage {
        hopByHopRequest(method: "CANCEL", to: osip.pointee.to)
    }

    // MARK: Helpers

    private func clonedOSIP() -> UnsafeMutablePointer<osip_message_t> {
        OSIP.ensureInitialised()
        var raw: UnsafeMutablePointer<osip_message_t>?
        guard osip_message_clone(osip, &raw) == 0, let copy = raw else {
            fatalError("libosip2 could not clone a message")
        }
        restoreHeaderSpelling(copy)
        return copy
    }

    private func finish(_ copy: UnsafeMutablePointer<osip_message_t>) -> SIPMessage {
        osip_message_force_update(copy)
        return SIPMessage(osip: copy, headers: nil)
    }

    /// libosip2 keeps the names of headers it does not know in lowercase; put back the spelling from the wire so
    /// a forwarded message carries, e.g., `X-Simulation-Result-Id` as the caller wrote it.
    private func restoreHeaderSpelling(_ copy: UnsafeMutablePointer<osip_message_t>) {
        let headers = OSIP.elements(UnsafePointer(copy.field(\.headers)), as: osip_header_t.self)
        guard !headers.isEmpty else { return }
        var spellings: [String: [String]] = [:]
        let index = headerIndex
        for entry in index.entries {
            let name = index.name(entry)
            spellings[ASCII.lowercased(name), default: []].append(name)
        }
        var used: [String: Int] = [:]
        for header in headers {
            guard let name = OSIP.string(header.pointee.hname) else { continue }
            let lower = ASCII.lowercased(name)
            let index = used[lower, default: 0]
            used[lower] = index + 1
            guard let written = spellings[lower], index < written.count, written[index] != name else { continue }
            OSIP.free(header.pointee.hname)
            header.pointee.hname = OSIP.strdup(written[index])
        }
    }

    private func hopByHopRequest(method: String, to: UnsafeMutablePointer<osip_from_t>?) -> SIPMessage {
        OSIP.ensureInitialised()
        var raw: UnsafeMutablePointer<osip_message_t>?
        guard osip_message_init(&raw) == 0, let request = raw else { fatalError("libosip2 could not allocate a message") }
        osip_message_set_method(request, OSIP.strdup(method))
        osip_message_set_version(request, OSIP.strdup("SIP/2.0"))
        if let uri = osip.pointee.req_uri {
            var copy: UnsafeMutablePointer<osip_uri_t>?
            if osip_uri_clone(uri, &copy) == 0 { osip_message_set_uri(request, copy) }
        }
        if let via = OSIP.first(UnsafePointer(osip.field(\.vias)), as: osip_via_t.self) {
            var copy: UnsafeMutablePointer<osip_via_t>?
            if osip_via_clone(via, &copy) == 0, let copy { osip_list_add(request.field(\.vias), copy, -1) }
        }
        for route in OSIP.elements(UnsafePointer(osip.field(\.routes)), as: osip_from_t.self) {
            var copy: UnsafeMutablePointer<osip_from_t>?
            if osip_from_clone(route, &copy) == 0, let copy { osip_list_add(request.field(\.routes), copy, -1) }
        }
        if let from = osip.pointee.from { osip_from_clone(from, request.field(\.from)) }
        if let to { osip_from_clone(to, request.field(\.to)) }
        if let callID = osip.pointee.call_id { osip_call_id_clone(callID, request.field(\.call_id)) }
        if let cseq = osip.pointee.cseq, osip_cseq_clone(cseq, request.field(\.cseq)) == 0, let copy = request.pointee.cseq {
            OSIP.free(copy.pointee.method)
            copy.pointee.method = OSIP.strdup(method)
        }
        osip_message_set_header(request, "Max-Forwards", "70")
        osip_message_set_content_length(request, "0")
        return finish(request)
    }

    private static func makeVia(_ via: SIPVia) -> UnsafeMutablePointer<osip_via_t>? {
        var text = "SIP/2.0/\(via.transport) \(bracketed(via.host))"
        if let port = via.port { text += ":\(port)" }
        if let branch = via.branch { text += ";branch=\(branch)" }
        switch via.rport {
        case .absent: break
        case .requested: text += ";rport"
        case .value(let port): text += ";rport=\(port)"
        }
        var raw: UnsafeMutablePointer<osip_via_t>?
        guard osip_via_init(&raw) == 0, let entry = raw else { return nil }
        guard text.withCString({ osip_via_parse(entry, $0) }) == 0 else {
            osip_via_free(entry)
            return nil
        }
        return entry
    }

    static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
