#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exponential backoff with jitter, capped, that honours Retry-After.
///
/// The un-jittered delay for attempt n (1-based) is `initialMs * multiplier^(n-1)`, capped at
/// `maxMs`. Jitter then takes a random fraction of up to `jitter` off it (1.0 is "full jitter"),
/// so a burst of failed rows spreads out instead of retrying in lockstep, and the cap is never exceeded.
/// A server's Retry-After is a floor (never retry sooner than it asked) but is itself capped at
/// `maxMs`, so one bad header cannot park a row for a day.
public struct RetryPolicy: Sendable, Equatable {
    public var initialMs: Int64
    public var maxMs: Int64
    public var multiplier: Double
    public var jitter: Double

    public init(initialMs: Int64 = 1_000, maxMs: Int64 = 300_000, multiplier: Double = 2.0, jitter: Double = 0.2) {
        self.initialMs = max(0, initialMs)
        self.maxMs = max(0, maxMs)
        self.multiplier = multiplier.isFinite ? max(1, multiplier) : 1
        self.jitter = jitter.isFinite ? min(1, max(0, jitter)) : 0
    }

    /// - Parameters:
    ///   - attempt: how many attempts have failed so far (1 after the first); values below 1 count as 1.
    ///   - retryAfterMs: the server's Retry-After, if it sent one.
    ///   - random: uniform in 0..<1, injected so tests are deterministic.
    public func delayMs(afterAttempt attempt: Int, retryAfterMs: Int64?, random: Double) -> Int64 {
        let cap = Double(maxMs)
        let exponent = Double(max(0, attempt - 1))
        let base = min(cap, Double(initialMs) * pow(multiplier, exponent)) // inf/huge collapses to the cap
        let r = random.isFinite ? min(max(random, 0), 1) : 0
        var delay = Int64((base * (1 - jitter * r)).rounded())
        if let retryAfterMs { delay = max(delay, min(max(0, retryAfterMs), maxMs)) }
        return min(max(0, delay), maxMs)
    }
}
