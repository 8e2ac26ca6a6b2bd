import Foundation
import Logging

/// The process-wide log level, changeable while running (SIGHUP reload).
final class LogLevelBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Logger.Level

    init(_ level: Logger.Level) { value = level }

    var level: Logger.Level {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
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
