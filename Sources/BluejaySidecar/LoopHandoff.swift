import Foundation
import NIOCore

/// Hands work from another thread (the store writer finishing a commit) to an event loop in one hop per
/// burst instead of one per item: a group commit completes hundreds of operations at once, and waking the
/// loop for each cost more than the work it carried. Items run on the loop in the order they were handed.
final class LoopHandoff: @unchecked Sendable {
    private let loop: EventLoop
    private let lock = NSLock()
    private var pending: [() -> Void] = []
    private var spare: [() -> Void] = []
    /// A drain is running its items. On the loop only.
    private var draining = false
    /// Runs on the loop after each burst (and after work run at once), e.g. one flush for many writes.
    private let afterBurst: (() -> Void)?

    init(loop: EventLoop, afterBurst: (() -> Void)? = nil) {
        self.loop = loop
        self.afterBurst = afterBurst
    }

    /// Runs `work` on the loop: at once when already there and nothing handed earlier waits, else with the next
    /// hop. (A commit made on the loop completes there, and must not overtake one the writer thread finished first.)
    func run(_ work: @escaping () -> Void) {
        if loop.inEventLoop {
            lock.lock()
            let waiting = draining || !pending.isEmpty
            if waiting { pending.append(work) }
            lock.unlock()
            if waiting { return } // the drain under way, or the hop already queued, runs it after the others
            work()
            afterBurst?()
            return
        }
        lock.lock()
        let first = pending.isEmpty
        pending.append(work)
        lock.unlock()
        if first { loop.execute { self.drain() } }
    }

    /// Runs what was handed, in order, until nothing is left: work handed on the loop meanwhile runs after it.
    private func drain() {
        draining = true
        while true {
            lock.lock()
            swap(&pending, &spare)
            lock.unlock()
            if spare.isEmpty { break }
            for work in spare { work() }
            spare.removeAll(keepingCapacity: true)
        }
        draining = false
        afterBurst?()
    }
}
