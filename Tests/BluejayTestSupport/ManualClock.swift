import BluejayCalls

/// A clock that moves only when a test says so, firing scheduled work in time order: what the SIP
/// layers' timers (retransmissions, session timers, transactions) are tested against.
public final class ManualClock {
    public final class Timer {
        public let at: Int64
        let task: () -> Void
        public private(set) var cancelled = false
        init(at: Int64, task: @escaping () -> Void) { self.at = at; self.task = task }
        public func cancel() { cancelled = true }
        func fire() { cancelled = true; task() }
    }

    public private(set) var nowMs: Int64
    private var timers: [Timer] = []

    public init(nowMs: Int64 = 1_700_000_000_000) { self.nowMs = nowMs }

    public func schedule(afterMs: Int64, _ task: @escaping () -> Void) -> Timer {
        let t = Timer(at: nowMs + afterMs, task: task)
        timers.append(t)
        return t
    }

    /// Moves the clock, firing due timers in time order (timers they schedule fire too if due).
    public func advance(_ ms: Int64) {
        let target = nowMs + ms
        while let next = timers.filter({ !$0.cancelled && $0.at <= target }).min(by: { $0.at < $1.at }) {
            nowMs = next.at
            next.fire()
        }
        timers.removeAll { $0.cancelled }
        nowMs = target
    }
}

extension ManualClock.Timer: SIPTimer {}
