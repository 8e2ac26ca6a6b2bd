/// Elements that all expire the same time after they are added, so in the order they were added: a FIFO swept
/// about once a second replaces a timer (and a priority-queue entry on the event loop) per element.
struct ExpiryQueue<Element> {
    private var entries: [(atMs: Int64, element: Element)] = []
    private var head = 0

    var count: Int { entries.count - head }

    mutating func append(_ element: Element, atMs: Int64) { entries.append((atMs, element)) }

    /// Removes the elements due by `nowMs`, oldest first, handing each to `body`.
    mutating func expire(nowMs: Int64, _ body: (Element) -> Void) {
        while head < entries.count, entries[head].atMs <= nowMs {
            body(entries[head].element)
            head += 1
        }
        if head > 1_024 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
