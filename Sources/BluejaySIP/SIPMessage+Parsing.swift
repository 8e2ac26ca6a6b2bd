import COSIP2

extension SIPMessage {
    public static func parse(_ bytes: [UInt8]) -> SIPParseOutcome {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Parses one datagram (or one message cut out by `SIPStreamFramer`) with libosip2, then applies
    /// the RFC 3261 / RFC 4475 checks libosip2 does not make. libosip2 copies the bytes, so the
    /// buffer may be reused as soon as this returns.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> SIPParseOutcome {
        guard bytes.count <= maxSize else { return .drop(.tooLarge(bytes.count)) }
        OSIP.ensureInitialised()
        let layout = SIPRawLayout(bytes)
        guard layout.hasStartLine, let base = bytes.baseAddress else { return .drop(.unparseable("empty message")) }

        var raw: UnsafeMutablePointer<osip_message_t>?
        guard osip_message_init(&raw) == 0, let parsed = raw else { return .drop(.unparseable("out of memory")) }
        // The message keeps its own copy of the header section: the caller may reuse `bytes`.
        let headers = SIPHeaderIndex(bytes: Array(UnsafeRawBufferPointer(rebasing: bytes[layout.headersStart..<layout.headersEnd])),
                                     entries: layout.headers)
        if osip_message_parse(parsed, base.assumingMemoryBound(to: CChar.self), bytes.count) == 0 {
            let message = SIPMessage(osip: parsed, headers: headers)
            return message.outcome(message.validate(layout: layout, bytes: bytes))
        }
        osip_message_free(parsed)
        // A response is never answered, so there is nothing to recover it for.
        if layout.isResponse(bytes) { return .drop(.unparseable("libosip2 rejected the response")) }
        return recover(bytes, layout: layout, headers: headers)
    }

    /// Maps a validation result to an outcome: only a request with a routable top Via gets a 400, and only if
    /// libosip2 can write its From and To back (a 400 without them would not parse at the other end either).
    func outcome(_ error: SIPParseError?) -> SIPParseOutcome {
        guard let error else { return .message(self) }
        if isRequest, topVia != nil, !addressTooShortToWriteBack {
            refused = true
            return .badRequest(self, error)
        }
        return .drop(error)
    }

    private var addressTooShortToWriteBack: Bool {
        [osip.pointee.from?.pointee.url, osip.pointee.to?.pointee.url].contains { $0.map(Self.tooShortToWriteBack) ?? false }
    }

    /// libosip2 gives up at the first bad line, which for many RFC 4475 messages is before Via, From or
    /// Call-ID. To still answer 400 (RFC 3261 §8.2), re-parse the request line alone (or a placeholder
    /// when it is the broken part) and feed each header to libosip2 one by one, skipping those it refuses.
    static func recover(_ bytes: UnsafeRawBufferPointer, layout: SIPRawLayout, headers: SIPHeaderIndex) -> SIPParseOutcome {
        let crlf2: [UInt8] = [ASCII.cr, ASCII.lf, ASCII.cr, ASCII.lf]
        let startLine = Array(bytes[layout.start..<layout.startLineEnd])
        var startLineError: SIPParseError?
        var message = parseHeaderless(startLine + crlf2)
        if message == nil {
            startLineError = .unparseable("malformed request line")
            // Keep the method when it is a clean token, so CSeq checks and logs stay meaningful.
            let token = startLine.prefix { $0 != ASCII.space }
            let method = !token.isEmpty && token.allSatisfy(ASCII.isTokenChar) ? String(decoding: token, as: UTF8.self) : "INVALID"
            message = parseHeaderless(Array("\(method) sip:invalid.invalid SIP/2.0".utf8) + crlf2)
                ?? parseHeaderless(Array("INVALID sip:invalid.invalid SIP/2.0".utf8) + crlf2)
        }
        guard let osip = message else { return .drop(.unparseable("malformed request line")) }
        // libosip2 added "Content-Length: 0" to the headerless message; the real one may follow.
        if let length = osip.pointee.content_length {
            osip_content_length_free(length)
            osip.pointee.content_length = nil
        }

        var headerError: SIPParseError?
        for field in headers.fields {
            if isDuplicateSingleton(SIPHeaderField.canonicalName(field.name), in: osip) {
                headerError = headerError ?? .invalid("more than one \(field.name) header")
                continue
            }
            var name = Array(ASCII.lowercased(field.name).utf8CString)
            var value = Array(field.value.utf8CString)
            let isEmpty = field.value.isEmpty
            let rc = name.withUnsafeMutableBufferPointer { namePointer in
                value.withUnsafeMutableBufferPointer { valuePointer in
                    osip_message_set_multiple_header(osip, namePointer.baseAddress, isEmpty ? nil : valuePointer.baseAddress)
                }
            }
            if rc != 0 {
                headerError = headerError ?? .unparseable("malformed \(field.name) header")
            }
        }

        let recovered = SIPMessage(osip: osip, headers: headers, requestLineRecovered: startLineError != nil)
        let error = startLineError ?? headerError ?? recovered.validate(layout: layout, bytes: bytes)
            ?? .unparseable("libosip2 rejected the message")
        return recovered.outcome(error)
    }

    private static func parseHeaderless(_ text: [UInt8]) -> UnsafeMutablePointer<osip_message_t>? {
        var raw: UnsafeMutablePointer<osip_message_t>?
        guard osip_message_init(&raw) == 0, let osip = raw else { return nil }
        let rc = text.withUnsafeBytes { osip_message_parse(osip, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard rc == 0, osip.pointee.status_code == 0 else {
            osip_message_free(osip)
            return nil
        }
        return osip
    }

    /// RFC 3261 §7.3.1: these may appear once; libosip2 refuses a second one, so say why.
    private static func isDuplicateSingleton(_ canonicalName: String, in osip: UnsafeMutablePointer<osip_message_t>) -> Bool {
        switch canonicalName {
        case "from": return osip.pointee.from != nil
        case "to": return osip.pointee.to != nil
        case "call-id": return osip.pointee.call_id != nil
        case "cseq": return osip.pointee.cseq != nil
        case "content-length": return osip.pointee.content_length != nil
        case "content-type": return osip.pointee.content_type != nil
        default: return false
        }
    }
}
