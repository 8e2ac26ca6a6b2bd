/// Cuts SIP messages out of a TCP/TLS byte stream (RFC 3261 §18.3): headers end at the first blank
/// line, the body is exactly Content-Length bytes ("Content-Length" or compact "l", any case; absent
/// means 0 on a stream). A CRLFCRLF between messages is an RFC 5626 keep-alive ping.
///
/// Each complete message is returned as its own `[UInt8]`, ready for `SIPMessage.parse`.
public struct SIPStreamFramer: Sendable {
    public enum Frame: Equatable, Sendable {
        case message([UInt8])
        /// A CRLFCRLF ping: answer with a single CRLF (RFC 5626 §4.4.1).
        case keepAlive
        /// Framing is impossible (too large, bad or conflicting Content-Length). The error is sticky:
        /// the caller answers 400/513 if it can, then closes the connection.
        case error(SIPParseError)
    }

    public let maxMessageSize: Int
    private var buffer: [UInt8] = []
    /// First unconsumed byte of `buffer`.
    private var head = 0
    /// Bytes after `head` already searched for the end of the headers, so a message arriving one byte
    /// at a time is not rescanned from the start on every call.
    private var scanned = 0
    private var failure: SIPParseError?

    public init(maxMessageSize: Int = SIPMessage.maxSize) {
        self.maxMessageSize = maxMessageSize
    }

    /// Bytes received but not yet returned in a frame.
    public var bufferedByteCount: Int { buffer.count - head }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() -> Frame? {
        if let failure { return .error(failure) }

        // Between messages: CRLFCRLF is a ping; a lone CRLF (a pong, or RFC 3261 §7.5 leading
        // CRLF) is skipped.
        while head < buffer.count, buffer[head] == ASCII.cr || buffer[head] == ASCII.lf {
            let available = buffer.count - head
            if available >= 4, buffer[head] == ASCII.cr, buffer[head + 1] == ASCII.lf,
               buffer[head + 2] == ASCII.cr, buffer[head + 3] == ASCII.lf {
                head += 4
                scanned = 0
                return .keepAlive
            }
            if available < 4, isPrefixOfPing(available) { return nil }
            head += (buffer[head] == ASCII.cr && available >= 2 && buffer[head + 1] == ASCII.lf) ? 2 : 1
            scanned = 0
        }
        guard head < buffer.count else { return nil }

        guard let bodyStart = findEndOfHeaders() else {
            if buffer.count - head > maxMessageSize { return fail(.tooLarge(buffer.count - head)) }
            return nil
        }
        let contentLength: Int
        switch Self.contentLength(in: buffer[head..<bodyStart]) {
        case .success(let length): contentLength = length
        case .failure(let error): return fail(error)
        }
        let total = bodyStart - head + contentLength
        if total > maxMessageSize { return fail(.tooLarge(total)) }
        guard buffer.count - head >= total else { return nil }

        let frame = Array(buffer[head..<head + total])
        head += total
        scanned = 0
        return .message(frame)
    }

    private mutating func fail(_ error: SIPParseError) -> Frame {
        failure = error
        return .error(error)
    }

    private func isPrefixOfPing(_ available: Int) -> Bool {
        let ping: [UInt8] = [ASCII.cr, ASCII.lf, ASCII.cr, ASCII.lf]
        return (0..<available).allSatisfy { buffer[head + $0] == ping[$0] }
    }

    /// Index just past the blank line (CRLFCRLF, or LFLF from lenient peers), or nil.
    private mutating func findEndOfHeaders() -> Int? {
        var i = head + max(0, scanned - 3)
        let end = buffer.count
        while i < end {
            if buffer[i] == ASCII.lf {
                if i + 1 < end, buffer[i + 1] == ASCII.lf { return i + 2 }
                if i + 2 < end, buffer[i + 1] == ASCII.cr, buffer[i + 2] == ASCII.lf { return i + 3 }
            }
            i += 1
        }
        scanned = end - head
        return nil
    }

    /// Content-Length from a header block; 0 if absent. Folded values are allowed; repeats must agree.
    static func contentLength(in block: ArraySlice<UInt8>) -> Result<Int, SIPParseError> {
        var found: Int?
        let index = SIPHeaderIndex(Array(block))
        for entry in index.entries where index.hasCanonicalName(entry, "content-length") {
            let text = index.value(entry)
            guard let value = ASCII.parseDigits(text, limit: Int(Int32.max)) else {
                return .failure(.invalid("bad Content-Length \"\(text)\""))
            }
            if let previous = found, previous != value {
                return .failure(.invalid("conflicting Content-Length headers"))
            }
            found = value
        }
        return .success(found ?? 0)
    }

    private mutating func compactIfWorthwhile() {
        if head == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096, head * 2 > buffer.count {
            buffer.removeSubrange(0..<head)
            head = 0
        }
    }
}
