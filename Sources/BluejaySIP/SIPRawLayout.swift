/// Where the start line, header section and body sit in a received datagram.
///
/// libosip2 does not report these offsets, but we need them for checks it skips: it only reads a body
/// when Content-Type is present, so "Content-Length larger than the datagram" (RFC 4475 §3.1.2.2) and
/// the header-by-header recovery of a broken request both work from the raw bytes.
/// Line ends follow libosip2: CRLF, bare LF or bare CR.
struct SIPRawLayout {
    /// First byte of the start line (libosip2 skips leading CR/LF, RFC 3261 §7.5).
    var start = 0
    /// One past the last byte of the start line.
    var startLineEnd = 0
    /// First byte of the first header line.
    var headersStart = 0
    /// One past the terminator of the last header line (the blank line starts here).
    var headersEnd = 0
    /// First body byte; equals the total count when there is no blank line.
    var bodyStart = 0
    /// Total size of the datagram.
    var count = 0
    /// Each header of the section, offsets from `headersStart`: found in the same pass that finds the
    /// section's end, so a received message is scanned once (see `SIPHeaderIndex`).
    var headers: [SIPHeaderIndex.Entry] = []

    var bodyLength: Int { count - bodyStart }
    var hasStartLine: Bool { startLineEnd > start }

    init(_ bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        var i = 0
        while i < count, bytes[i] == ASCII.cr || bytes[i] == ASCII.lf { i += 1 }
        start = i
        i = Self.lineEnd(bytes, from: i)
        startLineEnd = i
        headersStart = Self.skipTerminator(bytes, at: i)
        let (entries, sectionEnd) = SIPHeaderIndex.scan(UnsafeRawBufferPointer(rebasing: bytes[headersStart...]))
        headers = entries
        headersEnd = headersStart + sectionEnd
        bodyStart = Self.skipTerminator(bytes, at: headersEnd)
    }

    /// Whether the start line begins with "SIP/", which is how libosip2 tells a response from a request.
    func isResponse(_ bytes: UnsafeRawBufferPointer) -> Bool {
        startLineEnd - start >= 4 && bytes[start] == UInt8(ascii: "S") && bytes[start + 1] == UInt8(ascii: "I")
            && bytes[start + 2] == UInt8(ascii: "P") && bytes[start + 3] == UInt8(ascii: "/")
    }

    /// Index of the first CR or LF at or after `index`, or the count. Every received message is scanned
    /// line by line (here and by `SIPHeaderIndex`), so this tests eight bytes per step: a byte is CR or LF
    /// when XOR with it leaves a zero byte, and the usual zero-byte test flags the first one exactly.
    static func lineEnd(_ bytes: UnsafeRawBufferPointer, from index: Int) -> Int {
        var i = index
        if let base = bytes.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= bytes.count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let cr = word ^ (ones &* UInt64(ASCII.cr))
                let lf = word ^ (ones &* UInt64(ASCII.lf))
                let hits = ((cr &- ones) & ~cr | (lf &- ones) & ~lf) & highs
                if hits != 0 { return i + hits.trailingZeroBitCount / 8 }
                i += 8
            }
        }
        while i < bytes.count, bytes[i] != ASCII.cr, bytes[i] != ASCII.lf { i += 1 }
        return i
    }

    @inline(__always)
    static func skipTerminator(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int {
        guard index < bytes.count else { return index }
        if bytes[index] == ASCII.cr {
            return index + 1 < bytes.count && bytes[index + 1] == ASCII.lf ? index + 2 : index + 1
        }
        return bytes[index] == ASCII.lf ? index + 1 : index
    }
}
