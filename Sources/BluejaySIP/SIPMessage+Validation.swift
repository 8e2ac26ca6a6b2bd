import COSIP2

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The checks libosip2 does not make (it accepts most of RFC 4475 §3.1.2's invalid messages).
extension SIPMessage {
    /// First problem found, or nil. Order matters only for which reason a 400 carries.
    func validate(layout: SIPRawLayout, bytes: UnsafeRawBufferPointer) -> SIPParseError? {
        let m = osip.pointee

        // libosip2 reads the start line and headers as a C string, so a NUL ends them for it while the header
        // index reads on: the two would disagree on which headers the message has (a response copied from the
        // index named a Via libosip2 never saw; found by fuzzing). RFC 3261's grammar has no NUL before the body.
        if let base = bytes.baseAddress, layout.headersEnd > layout.start,
           memchr(base + layout.start, 0, layout.headersEnd - layout.start) != nil {
            return .invalid("NUL byte before the body")
        }

        guard let via = OSIP.first(UnsafePointer(osip.field(\.vias)), as: osip_via_t.self) else {
            return .missingHeader("Via")
        }
        guard SIPVia.isRoutable(via) else { return .invalid("unusable top Via") }
        // Responses travel back along every Via (RFC 3261 §18.2.2), and libosip2 writes a host-less one out as
        // text it then refuses itself, so a forwarded or answered copy would not parse (found by fuzzing).
        for other in OSIP.elements(UnsafePointer(osip.field(\.vias)), as: osip_via_t.self).dropFirst() where !SIPVia.isRoutable(other) {
            return .invalid("unusable Via")
        }
        for any in OSIP.elements(UnsafePointer(osip.field(\.vias)), as: osip_via_t.self) {
            if let fault = SIPVia.writeFault(any) { return .invalid(fault) }
        }

        // RFC 4475 §3.1.2.16 expects 505 here; we report `.invalid` (a 400). `version` has the value.
        guard let version = m.sip_version, ASCII.equalsIgnoringCase(version, "SIP/2.0") else {
            return .invalid("unsupported SIP version \(OSIP.string(m.sip_version) ?? "")")
        }
        if let viaVersion = via.pointee.version, !ASCII.equalsIgnoringCase(viaVersion, "2.0") {
            return .invalid("Via protocol is not SIP/2.0")
        }

        if isRequest {
            if !requestLineRecovered, let error = validateRequestLine(layout: layout, bytes: bytes) { return error }
        } else if let error = validateStatusLine(layout: layout, bytes: bytes) {
            return error
        }

        guard m.from != nil, m.from?.pointee.url != nil else { return .missingHeader("From") }
        guard m.to != nil, m.to?.pointee.url != nil else { return .missingHeader("To") }
        guard let callID = m.call_id, callID.pointee.number != nil else { return .missingHeader("Call-ID") }
        guard let cseq = m.cseq else { return .missingHeader("CSeq") }

        // RFC 3261 §8.1.1.5: CSeq number < 2^31.
        guard let number = cseq.pointee.number, ASCII.parseDigits(number) != nil else {
            return .invalid("bad CSeq number")
        }
        guard let cseqMethod = cseq.pointee.method, cseqMethod.pointee != 0,
              ASCII.isToken(cseqMethod) else { return .invalid("bad CSeq method") }
        if isRequest, let method = m.sip_method, strcmp(method, cseqMethod) != 0 {
            return .invalid("CSeq method \(String(cString: cseqMethod)) does not match request method \(String(cString: method))")
        }

        if isRequest {
            switch otherHeaderCount("max-forwards") {
            case 0: return .missingHeader("Max-Forwards")
            case 1: break
            default: return .invalid("more than one Max-Forwards header")
            }
            // RFC 3261 §20.22: 1*DIGIT; values above 255 are not meaningful (RFC 4475 §3.1.2.4 sends 300).
            guard let hops = maxForwards, hops <= 255 else { return .invalid("bad Max-Forwards") }
        }

        if let length = m.content_length?.pointee.value {
            guard let declared = ASCII.parseDigits(length) else { return .invalid("bad Content-Length") }
            if declared > layout.bodyLength {
                return .invalid("Content-Length \(declared) exceeds the \(layout.bodyLength) body bytes received")
            }
        }

        // RFC 3261 §20.15: a media-type parameter needs a value. libosip2 parses `text/plain;charset`, but then
        // its `osip_content_type_to_str` refuses it (as it refuses a missing type or subtype), so the message
        // goes out with an empty Content-Type that swallows the next header line (found by fuzzing).
        func valuelessParam(_ type: UnsafeMutablePointer<osip_content_type_t>) -> Bool {
            OSIP.elements(UnsafePointer(type.field(\.gen_params)), as: osip_generic_param_t.self).contains(where: { $0.pointee.gvalue == nil })
        }
        if let type = m.content_type {
            guard type.pointee.type != nil, type.pointee.subtype != nil, !valuelessParam(type) else { return .invalid("bad Content-Type") }
        }
        // libosip2 splits a multipart body into parts with headers of their own and writes a part back only if it
        // can write its Content-Type, so a part typed `application/octet;-stream` made the whole message unwritable
        // (found by fuzzing). Multipart bodies are rare: trying to write each part costs nothing on the hot path.
        if let type = m.content_type?.pointee.type, ASCII.equalsIgnoringCase(type, "multipart") {
            for part in OSIP.elements(UnsafePointer(osip.field(\.bodies)), as: osip_body_t.self) {
                var text: UnsafeMutablePointer<CChar>?
                var length = 0
                guard osip_body_to_str(part, &text, &length) == 0 else { return .invalid("multipart body part libosip2 cannot write") }
                OSIP.free(text)
            }
        }
        // Accept holds media ranges libosip2 writes with the same function (an empty Accept, no type at all, is legal).
        for range in OSIP.elements(UnsafePointer(osip.field(\.accepts)), as: osip_accept_t.self) {
            let bare = range.pointee.type == nil && range.pointee.subtype == nil
            if (bare ? false : range.pointee.type == nil || range.pointee.subtype == nil) || valuelessParam(range) {
                return .invalid("bad Accept")
            }
        }

        // RFC 3261 §20.17: SIP-date is always GMT (RFC 4475 §3.1.2.12).
        if let date = otherHeaderValue("date"), !ASCII.trimmed(date).hasSuffix("GMT") {
            return .invalid("Date is not in GMT")
        }

        if let error = validateAddrSpecs() { return error }
        if let error = validateAddressURIs() { return error }
        if let error = validateAddressParams() { return error }
        return nil
    }

    /// RFC 3261 §25.1: `generic-param = token [ EQUAL gen-value ]`, and a gen-value is never empty. libosip2 takes
    /// `From: <sip:u@h>;ttl= ;tag=1`, then writes `;ttl=;tag=1`, which it refuses itself, so a 200 or a forwarded
    /// copy would not parse (found by fuzzing).
    private func validateAddressParams() -> SIPParseError? {
        func emptyValue(_ header: UnsafeMutablePointer<osip_from_t>?) -> Bool {
            guard let header else { return false }
            return OSIP.elements(UnsafePointer(header.field(\.gen_params)), as: osip_generic_param_t.self).contains {
                guard let value = $0.pointee.gvalue else { return false }
                return value.pointee == 0
            }
        }
        if emptyValue(osip.pointee.from) { return .invalid("From parameter with an empty value") }
        if emptyValue(osip.pointee.to) { return .invalid("To parameter with an empty value") }
        if OSIP.elements(UnsafePointer(osip.field(\.contacts)), as: osip_contact_t.self).contains(where: { emptyValue($0) }) {
            return .invalid("Contact parameter with an empty value")
        }
        return nil
    }

    /// RFC 3261 §25.1: a port is 1*DIGIT. libosip2 takes `From: sip:u@h: ;tag=1` with an empty port, then writes
    /// `<sip:u@h:>`, which it refuses itself, so a 200 or a forwarded copy would not parse. Likewise its address
    /// parser refuses an address shorter than 6 bytes (`<sip:a>`) yet takes `<sip:a?x>`, whose header without "="
    /// its URI parser drops, so the address is written back as `<sip:a>` (both found by fuzzing).
    private func validateAddressURIs() -> SIPParseError? {
        func fault(_ uri: UnsafeMutablePointer<osip_uri_t>?) -> String? {
            guard let uri else { return nil }
            if let port = uri.pointee.port, ASCII.parseDigits(port, limit: 65_535) == nil { return "port" }
            // libosip2 keeps the part after a scheme other than sip, sips or tel as it stands, so `Contact:rted: >`
            // is the URI `rted: >`, written back as `<rted: >>`, which it refuses; `Contact:sipd: >` is the host `>`
            // (both found by fuzzing). RFC 3986 has no space, quote or angle bracket in a URI.
            if let opaque = uri.pointee.string, ASCII.containsSpaceOrControl(opaque, or: "\"<>") { return "with a space or angle bracket" }
            if let host = uri.pointee.host, ASCII.containsSpaceOrControl(host, or: "\"<>") { return "with a space or angle bracket" }
            if Self.hasEmptyPassword(uri) { return "password" }
            return Self.tooShortToWriteBack(uri) ? "too short to write back" : nil
        }
        if let what = fault(osip.pointee.from?.pointee.url) { return .invalid("bad From URI \(what)") }
        if let what = fault(osip.pointee.to?.pointee.url) { return .invalid("bad To URI \(what)") }
        for contact in OSIP.elements(UnsafePointer(osip.field(\.contacts)), as: osip_contact_t.self) {
            if let what = fault(contact.pointee.url) { return .invalid("bad Contact URI \(what)") }
        }
        return nil
    }

    /// libosip2 unescapes a password and drops what it cannot (`%m`, `%4`, `%00`), leaving an empty one it writes as
    /// `sip:a:@h` and then refuses (found by fuzzing).
    static func hasEmptyPassword(_ uri: UnsafeMutablePointer<osip_uri_t>) -> Bool {
        uri.pointee.password.map { $0.pointee == 0 } ?? false
    }

    /// A URI libosip2 would write as an address it refuses to read (`sip:a`, under 6 bytes).
    static func tooShortToWriteBack(_ uri: UnsafeMutablePointer<osip_uri_t>) -> Bool {
        guard uri.pointee.username == nil, uri.pointee.port == nil, uri.pointee.url_params.nb_elt == 0,
              uri.pointee.url_headers.nb_elt == 0, let scheme = uri.pointee.scheme, let host = uri.pointee.host else { return false }
        return strlen(scheme) + 1 + strlen(host) < 6
    }

    private func validateRequestLine(layout: SIPRawLayout, bytes: UnsafeRawBufferPointer) -> SIPParseError? {
        guard let method = osip.pointee.sip_method, method.pointee != 0, ASCII.isToken(method) else {
            return .invalid("bad method")
        }
        guard let uri = osip.pointee.req_uri, let scheme = uri.pointee.scheme else {
            return .invalid("bad request-URI")
        }
        if ASCII.equalsIgnoringCase(scheme, "sip") || ASCII.equalsIgnoringCase(scheme, "sips") {
            guard let host = uri.pointee.host, host.pointee != 0 else { return .invalid("request-URI has no host") }
            if let port = uri.pointee.port, ASCII.parseDigits(port, limit: 65_535) == nil {
                // Also catches an unbracketed IPv6 reference (RFC 5118 §4.2).
                return .invalid("bad request-URI port")
            }
            // libosip2 reads `sip:2001:db8::10` as host "2001:db8:" port 10; RFC 5118 §4.2 says an
            // IPv6 reference must be bracketed, so a colon in the host needs a '[' on the wire.
            if strchr(host, Int32(ASCII.colon)) != nil,
               !bytes[layout.start..<layout.startLineEnd].contains(UInt8(ascii: "[")) {
                return .invalid("IPv6 reference in request-URI is not bracketed")
            }
            if Self.hasEmptyPassword(uri) { return .invalid("bad request-URI password") }
            // RFC 3261 §19.1.1: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
            if uri.pointee.url_headers.nb_elt > 0 { return .invalid("request-URI carries headers") }
        } else if !ASCII.equalsIgnoringCase(scheme, "tel") {
            // A UAS could answer 416 (RFC 3261 §8.2.2.1); the caller answers 400 with this reason.
            return .invalid("unsupported request-URI scheme \(String(cString: scheme))")
        }
        return nil
    }

    /// libosip2 reads the status code with `sscanf("%d")`, so "4294967301" wraps to 5 (RFC 4475
    /// §3.1.2.19); require exactly three digits in 100-699 from the raw bytes.
    private func validateStatusLine(layout: SIPRawLayout, bytes: UnsafeRawBufferPointer) -> SIPParseError? {
        var i = layout.start
        while i < layout.startLineEnd, bytes[i] != ASCII.space { i += 1 }
        let codeStart = i + 1
        guard codeStart + 3 <= layout.startLineEnd,
              (codeStart..<codeStart + 3).allSatisfy({ ASCII.isDigit(bytes[$0]) }),
              codeStart + 3 == layout.startLineEnd || bytes[codeStart + 3] == ASCII.space,
              (100...699).contains(statusCode) else {
            return .invalid("bad status code")
        }
        return nil
    }

    /// RFC 3261 §20.10: a URI with a comma, question mark or semicolon must be in angle brackets.
    /// libosip2 happily takes `Contact: sip:u@h?Route=...` as a URI with headers (RFC 4475 §3.1.2.13).
    private func validateAddrSpecs() -> SIPParseError? {
        func hasHeaders(_ header: UnsafeMutablePointer<osip_from_t>?) -> Bool {
            (header?.pointee.url?.pointee.url_headers.nb_elt ?? 0) > 0
        }
        var suspects: [String] = []
        if hasHeaders(osip.pointee.from) { suspects.append("from") }
        if hasHeaders(osip.pointee.to) { suspects.append("to") }
        if OSIP.elements(UnsafePointer(osip.field(\.contacts)), as: osip_contact_t.self).contains(where: hasHeaders) {
            suspects.append("contact")
        }
        for name in suspects {
            for value in headerValues(name) where !value.utf8.contains(UInt8(ascii: "<")) {
                return .invalid("\(name) URI with headers must be enclosed in <>")
            }
        }
        return nil
    }
}
