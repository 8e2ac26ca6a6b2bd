import BluejayStore
import CCurl
import Foundation

/// The dedicated thread that owns libcurl's multi handle and every easy handle.
///
/// libcurl handles are not thread-safe, so all curl calls except `curl_multi_wakeup` happen on this
/// one thread. Other threads only touch `inbox` and `state` under `lock`, then wake the thread out
/// of `curl_multi_poll`. A slow or hanging server occupies one transfer slot until its timeout;
/// the other slots keep flowing.
final class CurlMultiLoop: @unchecked Sendable {
    private enum State {
        case running
        case draining(deadlineNs: UInt64)
        case stopped
    }

    static let shutdownOutcome = DeliveryOutcome.retryable(reason: "shutdown", status: nil, retryAfterMs: nil)

    private let endpoint: BluejayEndpoint
    private let maxConcurrent: Int
    private let multi: UnsafeMutableRawPointer?
    private var headers: UnsafeMutablePointer<curl_slist>?
    private var thread: Thread?

    // Shared with posting threads; guarded by `lock`.
    private let lock = NSLock()
    private var state: State = .running
    private var inbox: [PendingPost] = []
    private var stoppedOutcome = CurlMultiLoop.shutdownOutcome

    private let finished = NSCondition()
    private var isFinished = false

    // Loop thread only.
    private var waiting: [PendingPost] = []
    private var waitingHead = 0
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var idle: [CurlTransfer] = []

    init(endpoint: BluejayEndpoint, maxConcurrent: Int) {
        CurlGlobal.ensure()
        self.endpoint = endpoint
        self.maxConcurrent = max(1, maxConcurrent)
        self.multi = curl_multi_init()
        for line in endpoint.headerLines { headers = curl_slist_append(headers, line) }

        guard let multi else {
            state = .stopped
            stoppedOutcome = .retryable(reason: "curl multi handle unavailable", status: nil, retryAfterMs: nil)
            isFinished = true
            return
        }
        // One connection per slot and a cache exactly that big: every finished transfer leaves its
        // connection for the next one instead of closing it or opening a new one.
        _ = bj_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, self.maxConcurrent)
        _ = bj_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, self.maxConcurrent)
        _ = bj_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, self.maxConcurrent)

        let thread = DedicatedThread.make(name: "bj-delivery") { [self] in run() }
        self.thread = thread
        thread.start()
    }

    var isLoopThread: Bool { thread.map { Thread.current === $0 } ?? false }

    // MARK: Any thread

    func submit(_ post: PendingPost) {
        lock.lock()
        if case .stopped = state {
            let outcome = stoppedOutcome
            lock.unlock()
            post.completion(outcome)
            return
        }
        let needsWake = inbox.isEmpty // a non-empty inbox already has a wakeup pending
        inbox.append(post)
        if needsWake, let multi { _ = curl_multi_wakeup(multi) }
        lock.unlock()
    }

    /// Starts draining (a later, shorter grace wins). Waits for the thread unless called on it.
    func shutdown(graceMs: Int, wait: Bool) {
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, graceMs)) &* 1_000_000
        lock.lock()
        switch state {
        case .running:
            state = .draining(deadlineNs: deadline)
            if let multi { _ = curl_multi_wakeup(multi) }
        case .draining(let current) where deadline < current:
            state = .draining(deadlineNs: deadline)
            if let multi { _ = curl_multi_wakeup(multi) }
        default:
            break
        }
        lock.unlock()
        guard wait, !isLoopThread else { return }
        finished.lock()
        while !isFinished { finished.wait() }
        finished.unlock()
    }

    // MARK: Loop thread

    private func run() {
        guard let multi else { return }
        while true {
            let deadline = intake()
            startWaiting(multi)
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            let completed = collectFinished(multi)

            var pollMs: Int32 = 1_000
            if let deadline {
                if active.isEmpty { break }
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { abortActive(multi); break }
                pollMs = Int32(min(1_000, (deadline - now) / 1_000_000 + 1))
            }
            // Freed slots and queued bodies: start them before sleeping.
            if completed > 0 && waitingHead < waiting.count { continue }
            _ = curl_multi_poll(multi, nil, 0, pollMs, nil)
        }
        finish(multi)
    }

    /// Moves posted bodies to the local queue. Returns the drain deadline once shutdown began,
    /// in which case nothing new starts and everything not yet started completes as "shutdown".
    private func intake() -> UInt64? {
        lock.lock()
        let taken = inbox
        inbox.removeAll(keepingCapacity: true)
        let current = state
        lock.unlock()

        guard case .draining(let deadline) = current else {
            waiting.append(contentsOf: taken)
            return nil
        }
        let notStarted = waiting[waitingHead...] + taken
        waiting.removeAll()
        waitingHead = 0
        for post in notStarted { post.completion(Self.shutdownOutcome) }
        return deadline
    }

    private func startWaiting(_ multi: UnsafeMutableRawPointer) {
        while active.count < maxConcurrent && waitingHead < waiting.count {
            let post = waiting[waitingHead]
            waitingHead += 1
            start(post, multi)
        }
        // Compact lazily so taking from the front stays O(1) amortised.
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        } else if waitingHead > 1_024 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    private func start(_ post: PendingPost, _ multi: UnsafeMutableRawPointer) {
        guard let transfer = idle.popLast() ?? CurlTransfer(endpoint: endpoint, headers: headers) else {
            post.completion(.retryable(reason: "curl easy handle unavailable", status: nil, retryAfterMs: nil))
            return
        }
        guard transfer.begin(body: post.body, completion: post.completion) else {
            idle.append(transfer)
            transfer.takeCompletion()?(.retryable(reason: "curl refused the body", status: nil, retryAfterMs: nil))
            return
        }
        guard curl_multi_add_handle(multi, transfer.easy) == CURLM_OK else {
            idle.append(transfer)
            transfer.takeCompletion()?(.retryable(reason: "curl refused the transfer", status: nil, retryAfterMs: nil))
            return
        }
        active[transfer.easy] = transfer
    }

    private func collectFinished(_ multi: UnsafeMutableRawPointer) -> Int {
        var completed = 0
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            // Copy out before remove_handle: it invalidates the message.
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let result = message.pointee.data.result
            guard let transfer = active.removeValue(forKey: easy) else { continue }
            _ = curl_multi_remove_handle(multi, easy)
            let (outcome, completion) = transfer.finish(result: result)
            idle.append(transfer)
            completed += 1
            completion?(outcome)
        }
        return completed
    }

    private func abortActive(_ multi: UnsafeMutableRawPointer) {
        let aborted = active.values
        active.removeAll()
        for transfer in aborted {
            _ = curl_multi_remove_handle(multi, transfer.easy)
            transfer.takeCompletion()?(Self.shutdownOutcome)
        }
    }

    private func finish(_ multi: UnsafeMutableRawPointer) {
        lock.lock()
        state = .stopped // from here on `submit` completes inline and never touches `multi`
        let late = inbox
        inbox.removeAll()
        lock.unlock()
        for post in late { post.completion(Self.shutdownOutcome) }

        curl_multi_cleanup(multi) // closes the cached keep-alive connections
        idle.removeAll()          // easy handles after the multi, as libcurl documents
        curl_slist_free_all(headers)
        headers = nil

        finished.lock()
        isFinished = true
        finished.broadcast()
        finished.unlock()
    }
}
