import COSIP2

extension SIPMessage {
    /// The response `makeResponse` builds, already on the wire. Building through libosip2 clones every Via,
    /// From, To, Call-ID and CSeq into new structures and writes them back out, which cost as many
    /// instructions as parsing the request; a received request's headers are copied here from the bytes
    /// it came in, and only the top Via is edited (`received`, `rport`). Requests this copy cannot stand
    /// for exactly (refused ones, a header that occurs twice, a comment or quoted string in the top Via, an
    /// empty parameter value in a copied header, a copied value with a fold or a run of spaces) and values with a
    /// line break take `makeResponse`.
    public func responseBytes(status: Int, reason: String? = nil, toTag: String? = nil,
                              received: String? = nil, rport: Int? = nil,
                              headers: [(String, String)] = [],
                              contentType: String? = nil, body: [UInt8] = []) -> [UInt8] {
        if let bytes = copiedResponse(status: status, reason: reason ?? SIPReasonPhrase.standard(for: status), toTag: toTag,
                                      received: received, rport: rport, headers: headers, contentType: contentType, body: body) {
            return bytes
        }
        return makeResponse(status: status, reason: reason, toTag: toTag, received: received, rport: rport, headers: headers,
                            contentType: contentType, body: body).serialize()
    }

    /// The copy, or nil where it cannot stand for libosip2's response.
    func copiedResponse(status: Int, reason: String, toTag: String?, received: String?, rport: Int?,
                        headers extra: [(String, String)], contentType: String?, body: [UInt8]) -> [UInt8]? {
        guard isRequest, !refused, arrivedWithHeaders, (100...699).contains(status),
              Self.isOneLine(reason), contentType.map(Self.isOneLine) ?? true,
              extra.allSatisfy({ Self.isOneLine($0.0) && Self.isOneLine($0.1) }) else { return nil }
        let index = headerIndex
        var top: SIPHeaderIndex.Entry?, from: SIPHeaderIndex.Entry?, to: SIPHeaderIndex.Entry?
        var callID: SIPHeaderIndex.Entry?, cseq: SIPHeaderIndex.Entry?
        for entry in index.entries {
            if top == nil, index.nameIs(entry, "via") || index.nameIs(entry, "v") {
                top = entry
            } else if index.nameIs(entry, "from") || index.nameIs(entry, "f") {
                guard from == nil else { return nil }
                from = entry
            } else if index.nameIs(entry, "to") || index.nameIs(entry, "t") {
                guard to == nil else { return nil }
                to = entry
            } else if index.nameIs(entry, "call-id") || index.nameIs(entry, "i") {
                guard callID == nil else { return nil }
                callID = entry
            } else if index.nameIs(entry, "cseq") {
                guard cseq == nil else { return nil }
                cseq = entry
            }
        }
        guard let top, let from, let to, let callID, let cseq else { return nil }

        var out: [UInt8] = []
        out.reserveCapacity(index.bytes.count + body.count + 256)
        out.append(contentsOf: "SIP/2.0 ".utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(ASCII.space)
        out.append(contentsOf: reason.utf8)
        out.append(contentsOf: Self.crlf)
        let copiesRoutes = copiesRecordRoutes(status: status)
        for entry in index.entries {
            if entry.nameStart == top.nameStart {
                Self.name(&out, "Via")
                guard Self.appendStamped(&out, topVia: index.bytes[entry.valueStart..<entry.valueEnd], received: received, rport: rport) else {
                    return nil
                }
                out.append(contentsOf: Self.crlf)
            } else if index.nameIs(entry, "via") || index.nameIs(entry, "v") {
                guard Self.line(&out, "Via", index, entry) else { return nil }
            } else if copiesRoutes, index.nameIs(entry, "record-route") {
                guard Self.line(&out, "Record-Route", index, entry) else { return nil }
            }
        }
        guard Self.line(&out, "From", index, from) else { return nil }
        Self.name(&out, "To")
        guard !Self.hasEmptyParam(index.bytes[to.valueStart..<to.valueEnd]), index.appendVerbatim(to, to: &out) else { return nil }
        if let toTag, self.toTag == nil {
            out.append(contentsOf: ";tag=".utf8)
            out.append(contentsOf: toTag.utf8)
        }
        out.append(contentsOf: Self.crlf)
        guard Self.line(&out, "Call-ID", index, callID), Self.line(&out, "CSeq", index, cseq) else { return nil }
        for (name, value) in extra where !Self.isContentLength(name) {
            Self.line(&out, name, value)
        }
        if let contentType { Self.line(&out, "Content-Type", contentType) }
        Self.line(&out, "Content-Length", String(body.count))
        out.append(contentsOf: Self.crlf)
        out.append(contentsOf: body)
        return out
    }

    private static let crlf: [UInt8] = [ASCII.cr, ASCII.lf]

    /// Header names as libosip2 writes them, whatever form (compact, other case) the request used.
    private static func name(_ out: inout [UInt8], _ name: String) {
        out.append(contentsOf: name.utf8)
        out.append(ASCII.colon)
        out.append(ASCII.space)
    }

    /// False when the value is not copied as received (`SIPHeaderIndex.appendVerbatim`) or has an empty
    /// parameter value.
    private static func line(_ out: inout [UInt8], _ name: String, _ index: SIPHeaderIndex, _ entry: SIPHeaderIndex.Entry) -> Bool {
        guard !hasEmptyParam(index.bytes[entry.valueStart..<entry.valueEnd]) else { return false }
        Self.name(&out, name)
        guard index.appendVerbatim(entry, to: &out) else { return false }
        out.append(contentsOf: crlf)
        return true
    }

    private static func line(_ out: inout [UInt8], _ name: String, _ value: String) {
        Self.name(&out, name)
        out.append(contentsOf: value.utf8)
        out.append(contentsOf: crlf)
    }

    private static func isOneLine(_ text: String) -> Bool {
        !text.utf8.contains(where: { $0 == ASCII.cr || $0 == ASCII.lf || $0 == 0 })
    }

    /// `;name=` with nothing after it, or a `;` with no parameter after it: `makeResponse` writes such a parameter
    /// without its `=` (From, To) or drops the empty one, where the copy would write `;;tag=` after `To: <…>;`,
    /// which libosip2 cannot read back, as it cannot a Via's `maddr=` (all found by fuzzing).
    private static func hasEmptyParam(_ value: ArraySlice<UInt8>) -> Bool {
        var i = value.startIndex
        while i < value.endIndex {
            if value[i] == UInt8(ascii: "=") || value[i] == UInt8(ascii: ";") {
                let next = i + 1 < value.endIndex ? value[i + 1] : UInt8(ascii: ";")
                if next == UInt8(ascii: ";") || next == UInt8(ascii: ",") || next == UInt8(ascii: ">") || next <= ASCII.space {
                    return true
                }
            }
            i += 1
        }
        return false
    }

    /// Appends the top Via line's value with its first entry's `received` set and a requested `rport` filled in
    /// (RFC 3261 §18.2.1, RFC 3581 §4) as libosip2's `stamp` does, and any further entries of the line as they
    /// are. False when the first entry holds anything but `sent-protocol SP sent-by *(;param)` on one line: a
    /// comment, a quoted string, a fold, spaces around the separators or a ';' before the space take libosip2's path.
    private static func appendStamped(_ out: inout [UInt8], topVia raw: ArraySlice<UInt8>, received: String?, rport: Int?) -> Bool {
        var start = raw.startIndex, stop = raw.endIndex
        while start < stop, ASCII.isWhitespace(raw[start]) { start += 1 }
        while stop > start, ASCII.isWhitespace(raw[stop - 1]) { stop -= 1 }
        var end = stop, spaces = 0, paramsBeforeSpace = false
        for i in start..<stop {
            let byte = raw[i]
            if byte == UInt8(ascii: ",") { end = i; break }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "(") || byte < ASCII.space { return false }
            if byte == ASCII.space { spaces += 1 }
            if byte == UInt8(ascii: ";"), spaces == 0 { paramsBeforeSpace = true }
        }
        // libosip2 reads `SIP;received=/2.0/TLS h` as SIP/2.0/TLS h, skipping what precedes the first '/'; the copy
        // would take `received=/2.0/TLS h` for a parameter and replace it (found by fuzzing).
        guard spaces == 1, !paramsBeforeSpace, !hasEmptyParam(raw[start..<end]) else { return false }
        // The sent-protocol and sent-by, then each parameter.
        var i = start
        while i < end, raw[i] != UInt8(ascii: ";") { i += 1 }
        out.append(contentsOf: raw[start..<i])
        var sawReceived = false
        while i < end {
            var next = i + 1
            while next < end, raw[next] != UInt8(ascii: ";") { next += 1 }
            let param = raw[(i + 1)..<next]
            guard !param.isEmpty else { return false }
            var nameEnd = param.startIndex
            while nameEnd < param.endIndex, param[nameEnd] != UInt8(ascii: "=") { nameEnd += 1 }
            let name = param[param.startIndex..<nameEnd]
            out.append(UInt8(ascii: ";"))
            if let received, isParam(name, "received") {
                out.append(contentsOf: "received=".utf8)
                out.append(contentsOf: received.utf8)
                sawReceived = true
            } else if let rport, isParam(name, "rport") {
                out.append(contentsOf: "rport=".utf8)
                out.append(contentsOf: String(rport).utf8)
            } else {
                out.append(contentsOf: param)
            }
            i = next
        }
        if let received, !sawReceived {
            out.append(contentsOf: ";received=".utf8)
            out.append(contentsOf: received.utf8)
        }
        out.append(contentsOf: raw[end..<stop])
        return true
    }

    private static func isParam(_ name: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        name.count == lowercase.utf8CodeUnitCount && ASCII.hasPrefix(name, lowercase: lowercase)
    }
}
