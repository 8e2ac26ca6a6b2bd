import Foundation
import Logging
import Synchronization

/// The process-wide log level, changeable while running (SIGHUP reload). Atomic: every log call reads it, the
/// per-call lines on the SIP loop included, and a lock there was a mutex round trip per line.
final class LogLevelBox: Sendable {
    private let value: Atomic<UInt8>

    init(_ level: Logger.Level) { value = Atomic(Self.code(level)) }

    var level: Logger.Level {
        get { Self.levels[Int(value.load(ordering: .relaxed))] }
        set { value.store(Self.code(newValue), ordering: .relaxed) }
    }

    private static let levels = Logger.Level.allCases
    private static func code(_ level: Logger.Level) -> UInt8 { UInt8(levels.firstIndex(of: level)!) }
}

/// Forwards to a handler, filtering by the live level instead of a level fixed at creation.
struct LiveLevelLogHandler<Upstream: LogHandler>: LogHandler {
    var upstream: Upstream
    let box: LogLevelBox

    init(upstream: Upstream, level: LogLevelBox) {
        var upstream = upstream
        upstream.logLevel = .trace
        self.upstream = upstream
        box = level
    }

    var logLevel: Logger.Level {
        get { box.level }
        set { box.level = newValue }
    }

    var metadata: Logger.Metadata {
        get { upstream.metadata }
        set { upstream.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { upstream[metadataKey: key] }
        set { upstream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= box.level else { return }
        upstream.log(event: event)
    }
}
