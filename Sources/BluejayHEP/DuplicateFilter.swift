/// Recognises copies of one SIP message seen from several capture points (e.g. heplify on the host and
/// Kamailio `siptrace`, or a HEP feed and a port mirror), so that the message is processed once.
///
/// **Key: a digest of the SIP payload bytes** (two independent 64-bit hashes plus the length, i.e. ~128
/// bits: collisions are negligible at any realistic rate). Chosen over Call-ID + CSeq + top Via branch +
/// method/status because:
/// - copies of one message on the wire are byte-identical wherever they are captured, so the digest is exact,
///   needs no header scanning (compact forms, folding, case) and costs one pass over the bytes;
/// - a header key would wrongly merge *different* messages that share those headers: forked 200/180
///   responses from two branches (same Call-ID, CSeq and top Via branch, different To-tags), or a
///   provisional and a final response resent with the same status but a different body.
/// Consequences the caller should know: a SIP retransmission (byte-identical by definition) inside the window
/// is also reported as a duplicate, which is what a follower wants; a message *forwarded by a proxy* is a
/// different message (new top Via, Max-Forwards, Record-Route) and is reported as new — the call registry
/// sees both legs (same Call-ID) and must treat them idempotently.
///
/// **Window:** a message is a duplicate when an identical one was first seen less than `windowMs` ago
/// (default 2 s). The window runs from the first sighting; duplicates do not extend it. `nowMs` should be a
/// monotonic clock in milliseconds (a clock that goes backwards only makes entries live longer).
///
/// **Capacity:** at most `capacity` digests are remembered (default 100,000, ~5 MB); beyond it the oldest are
/// forgotten first, so under overload a late copy may be processed twice rather than memory growing.
/// Every operation is amortised O(1) plus one hash pass over the payload. Not thread-safe (a value type;
/// keep one per receiving loop).
public struct DuplicateFilter: Sendable {
    struct Key: Hashable, Sendable {
        var h1: UInt64
        var h2: UInt64
        var length: Int
    }

    public let windowMs: Int64
    public let capacity: Int
    private var firstSeen: [Key: Int64] = [:]
    private var order: [(key: Key, at: Int64)] = []   // FIFO by first sighting; `head` is the oldest live entry
    private var head = 0

    public init(windowMs: Int64 = 2_000, capacity: Int = 100_000) {
        self.windowMs = max(0, windowMs)
        self.capacity = max(1, capacity)
    }

    /// Digests currently remembered.
    public var count: Int { firstSeen.count }

    /// True the first time these payload bytes are seen within the window (process the message);
    /// false for a copy seen again less than `windowMs` after the first sighting (drop it).
    public mutating func firstSighting(_ payload: [UInt8], nowMs: Int64) -> Bool {
        expire(nowMs: nowMs)
        let key = Self.digest(payload)
        if let at = firstSeen[key] {
            if nowMs - at < windowMs { return false }
            // Expired but still queued (clock went backwards before): forget the old entry, record anew.
        }
        firstSeen[key] = nowMs
        order.append((key, nowMs))
        while firstSeen.count > capacity, head < order.count {
            dropHead()
        }
        compact()
        return true
    }

    /// Forgets digests first seen `windowMs` or more before `nowMs`.
    public mutating func expire(nowMs: Int64) {
        while head < order.count, nowMs - order[head].at >= windowMs {
            dropHead()
        }
        compact()
    }

    private mutating func dropHead() {
        let e = order[head]
        head += 1
        if firstSeen[e.key] == e.at { firstSeen[e.key] = nil }
    }

    private mutating func compact() {
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        } else if head == order.count, head > 0 {
            order.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// FNV-1a 64 and a multiply-rotate hash with a different constant, plus the length.
    static func digest(_ bytes: [UInt8]) -> Key {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x9e37_79b9_7f4a_7c15
        for byte in bytes {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            b = ((b ^ UInt64(byte)) &* 0xff51_afd7_ed55_8ccd)
            b = (b << 29) | (b >> 35)
        }
        return Key(h1: a, h2: b, length: bytes.count)
    }
}
