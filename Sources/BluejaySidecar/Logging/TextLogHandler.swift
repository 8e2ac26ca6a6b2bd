import Foundation
import Logging

/// swift-log's `StreamLogHandler` line format on stderr (`--log-format text`, the default):
/// `2026-11-22T04:47:59+0000 info bluejay-sidecar: key=value … [Source] message`.
/// Written here rather than used from swift-log because that handler calls localtime(3) per line, which makes
/// glibc stat /etc/localtime each time: two syscalls per line, on the SIP loop, for every call's log lines.
/// This one formats the local time once a second and writes each line with one write(2).
struct TextLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = LogOutput.shared.timestamp()
        line += " \(event.level)"
        if !label.isEmpty { line += " " + label }
        line += ":"
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        line += " [\(event.source)] \(event.message)\n"
        LogOutput.shared.write(line)
    }
}
