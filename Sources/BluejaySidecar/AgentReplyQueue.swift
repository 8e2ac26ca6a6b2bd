/// A connection's replies in line order: a slot per line read, filled when its answer comes (in any order),
/// taken once every line before it is answered, so the agent can pair replies with lines by position.
struct AgentReplyQueue {
    private var slots: [[UInt8]?] = []
    /// Bytes of each slot's line, while it waits for its reply.
    private var sizes: [Int] = []
    /// Index in `slots` of the oldest line not yet answered on the wire.
    private var head = 0
    /// Sequence of the line in `slots[head]`.
    private var headSequence = 0

    /// Every line read so far has had its reply taken.
    var allWritten: Bool { head == slots.count }
    /// Lines read whose reply has not been taken yet, and their bytes: what a pipelining agent has in flight.
    var unanswered: Int { slots.count - head }
    private(set) var unansweredBytes = 0

    /// A slot for the next line (`bytes` long); returns the line's sequence.
    mutating func reserve(bytes: Int = 0) -> Int {
        slots.append(nil)
        sizes.append(bytes)
        unansweredBytes += bytes
        return headSequence + slots.count - 1 - head
    }

    mutating func fill(_ sequence: Int, _ reply: [UInt8]) {
        slots[head + sequence - headSequence] = reply
    }

    /// Bytes of the replies `takeReady` would hand out.
    func readyBytes() -> Int {
        var bytes = 0
        var i = head
        while i < slots.count, let reply = slots[i] {
            bytes += reply.count
            i += 1
        }
        return bytes
    }

    /// Hands out, in order, the replies whose turn has come.
    mutating func takeReady(_ body: ([UInt8]) -> Void) {
        while head < slots.count, let reply = slots[head] {
            body(reply)
            slots[head] = nil
            unansweredBytes -= sizes[head]
            head += 1
            headSequence += 1
        }
        if head == slots.count {
            slots.removeAll(keepingCapacity: true)
            sizes.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1_024 && head * 2 >= slots.count {
            slots.removeFirst(head)
            sizes.removeFirst(head)
            head = 0
        }
    }
}
