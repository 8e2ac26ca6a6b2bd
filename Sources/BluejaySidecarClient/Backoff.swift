import NIOCore

/// Reconnect delays: doubling from `initial` up to `max`, each drawn from its upper half so that many
/// agents do not hammer a restarting sidecar in lock step.
struct Backoff {
    let initial: TimeAmount
    let max: TimeAmount
    private var current: TimeAmount

    init(initial: TimeAmount, max: TimeAmount) {
        self.initial = initial
        self.max = Swift.max(initial, max)
        current = initial
    }

    mutating func next() -> TimeAmount {
        let base = current.nanoseconds
        current = .nanoseconds(Swift.min(base * 2, max.nanoseconds))
        return .nanoseconds(base / 2 + Int64.random(in: 0...Swift.max(1, base / 2)))
    }

    mutating func reset() { current = initial }
}

extension TimeAmount {
    /// Swift's `Duration`, truncated to nanoseconds.
    init(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
