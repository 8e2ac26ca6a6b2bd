import COSIP2

extension SIPMessage {
    /// Methods whose 1xx/2xx responses create a dialog (RFC 3261 §12.1, RFC 6665 §4.3, RFC 3515).
    private static let dialogCreatingMethods: Set<String> = ["INVITE", "SUBSCRIBE", "REFER", "NOTIFY"]

    /// Whether a response of `status` to this request carries its Record-Route (RFC 3261 §12.1.1: 101-299 to a
    /// dialog-creating request).
    func copiesRecordRoutes(status: Int) -> Bool { (101...299).contains(status) && Self.dialogCreatingMethods.contains(method) }

    /// Builds a response to this request with libosip2 (RFC 3261 §8.2.6.2): every Via in order, From,
    /// To, Call-ID and CSeq cloned; Record-Route cloned for dialog-creating 101-299 responses
    /// (RFC 3261 §12.1.1: "18x/2xx" in practice); `toTag` added only when To has no tag yet.
    /// `received` stamps the top Via (RFC 3261 §18.2.1); `rport` fills it in only if the request asked
    /// for it (RFC 3581 §4). `headers` are appended in order; Content-Length is always computed by
    /// libosip2 from the body, so one given here is ignored.
    public func makeResponse(status: Int, reason: String? = nil, toTag: String? = nil,
                             received: String? = nil, rport: Int? = nil,
                             headers: [(String, String)] = [],
                             contentType: String? = nil, body: [UInt8] = []) -> SIPMessage {
        OSIP.ensureInitialised()
        var raw: UnsafeMutablePointer<osip_message_t>?
        guard osip_message_init(&raw) == 0, let response = raw else {
            fatalError("libosip2 could not allocate a message")
        }
        osip_message_set_version(response, OSIP.strdup("SIP/2.0"))
        osip_message_set_status_code(response, Int32(status))
        osip_message_set_reason_phrase(response, OSIP.strdup(reason ?? SIPReasonPhrase.standard(for: status)))

        let requestVias = OSIP.elements(UnsafePointer(osip.field(\.vias)), as: osip_via_t.self)
        for (index, via) in requestVias.enumerated() {
            var copy: UnsafeMutablePointer<osip_via_t>?
            guard osip_via_clone(via, &copy) == 0, let copy else { continue }
            if index == 0 { Self.stamp(copy, received: received, rport: rport) }
            osip_list_add(response.field(\.vias), copy, -1)
        }

        if let from = osip.pointee.from { osip_from_clone(from, response.field(\.from)) }
        if let to = osip.pointee.to { osip_from_clone(to, response.field(\.to)) }
        Self.dropEmptyParamValues(response.pointee.from)
        Self.dropEmptyParamValues(response.pointee.to)
        if let callID = osip.pointee.call_id { osip_call_id_clone(callID, response.field(\.call_id)) }
        if let cseq = osip.pointee.cseq { osip_cseq_clone(cseq, response.field(\.cseq)) }

        if let toTag, let to = response.pointee.to,
           OSIP.param(UnsafePointer(to.field(\.gen_params)), "tag") == nil {
            osip_uri_param_add(to.field(\.gen_params), OSIP.strdup("tag"), OSIP.strdup(toTag))
        }

        if copiesRecordRoutes(status: status) {
            for route in OSIP.elements(UnsafePointer(osip.field(\.record_routes)), as: osip_record_route_t.self) {
                var copy: UnsafeMutablePointer<osip_record_route_t>?
                if osip_from_clone(route, &copy) == 0, let copy {
                    osip_list_add(response.field(\.record_routes), copy, -1)
                }
            }
        }

        for (name, value) in headers {
            Self.append(header: name, value: value, to: response)
        }
        if let contentType {
            _ = contentType.withCString { osip_message_set_content_type(response, $0) }
        }
        if !body.isEmpty {
            _ = body.withUnsafeBytes {
                osip_message_set_body(response, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
            }
        }
        _ = String(body.count).withCString { osip_message_set_content_length(response, $0) }
        return SIPMessage(osip: response, headers: nil)
    }

    /// Headers libosip2 models (Contact, Allow, ...) go through its parser so they serialise in their
    /// canonical place; the rest are stored verbatim so their spelling survives.
    private static func append(header name: String, value: String, to response: UnsafeMutablePointer<osip_message_t>) {
        if isContentLength(name) { return }
        let lower = ASCII.lowercased(name)
        if SIPHeaderField.knownToOSIP.contains(lower) {
            var cName = Array(lower.utf8CString)
            var cValue = Array(value.utf8CString)
            let rc = cName.withUnsafeMutableBufferPointer { n in
                cValue.withUnsafeMutableBufferPointer { v in osip_message_set_multiple_header(response, n.baseAddress, v.baseAddress) }
            }
            if rc == 0 { return }
            // libosip2 refused the value: keep it verbatim rather than lose it.
        }
        _ = name.withCString { n in value.withCString { v in osip_message_set_header(response, n, v) } }
    }

    /// A 400 answers requests whose From or To has `;name=` with nothing after it, and libosip2 would write that
    /// back as text it refuses itself: the copy carries `;name` instead (a parameter without a value is legal).
    private static func dropEmptyParamValues(_ header: UnsafeMutablePointer<osip_from_t>?) {
        guard let header else { return }
        for param in OSIP.elements(UnsafePointer(header.field(\.gen_params)), as: osip_generic_param_t.self) {
            if let value = param.pointee.gvalue, value.pointee == 0 {
                OSIP.free(value)
                param.pointee.gvalue = nil
            }
        }
    }

    /// Adds `received` / fills `rport` (RFC 3581, only where it was asked for) on a copy's top Via:
    /// for responses, and for requests a proxy forwards.
    static func stamp(_ via: UnsafeMutablePointer<osip_via_t>, received: String?, rport: Int?) {
        let params = via.field(\.via_params)
        if let received {
            set(param: "received", to: received, in: params)
        }
        if let rport, OSIP.param(UnsafePointer(params), "rport") != nil {
            set(param: "rport", to: String(rport), in: params)
        }
    }

    private static func set(param name: String, to value: String, in list: UnsafeMutablePointer<osip_list_t>) {
        if let existing = OSIP.param(UnsafePointer(list), name) {
            OSIP.free(existing.pointee.gvalue)
            existing.pointee.gvalue = OSIP.strdup(value)
        } else {
            osip_uri_param_add(list, OSIP.strdup(name), OSIP.strdup(value))
        }
    }

    /// Content-Length (or `l`): both builders write it from the body, so one given is dropped.
    static func isContentLength(_ name: String) -> Bool { SIPHeaderField.canonicalName(name) == "content-length" }
}
