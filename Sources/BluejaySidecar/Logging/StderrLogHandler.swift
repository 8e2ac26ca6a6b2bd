import BluejayAgentProtocol
import BluejayJSON
import Foundation
import Logging

/// Log lines on stderr, in one of two formats:
/// - text (the default), swift-log's `StreamLogHandler` line:
///   `2026-11-22T04:47:59+0000 info bluejay-sidecar: key=value … [Source] message`. Written here rather than used
///   from swift-log because that handler calls localtime(3) per line, which makes glibc stat /etc/localtime each
///   time: a syscall per line on the SIP loop, for every call's log lines.
/// - json, one object per line for log shippers: `{"ts":"…","level":"info","label":"…","message":"…", <metadata>}`.
struct StderrLogHandler: LogHandler {
    let label: String
    let format: RunOptions.LogFormat
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, format: RunOptions.LogFormat) {
        self.label = label
        self.format = format
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        switch format {
        case .text: LogOutput.shared.write(textLine(event, merged))
        case .json: LogOutput.shared.write(jsonLine(event, merged))
        }
    }

    private func textLine(_ event: LogEvent, _ metadata: Logger.Metadata) -> String {
        var metadata = metadata
        if let error = event.error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var line = LogOutput.shared.timestamp()
        line += " \(event.level)"
        if !label.isEmpty { line += " " + label }
        line += ":"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        line += " [\(event.source)] \(event.message)\n"
        return line
    }

    private func jsonLine(_ event: LogEvent, _ metadata: Logger.Metadata) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.member("ts", string: RFC3339.format(epochMs: Int64(Date().timeIntervalSince1970 * 1000)))
        w.member("level", string: event.level.rawValue)
        w.member("label", string: label)
        w.member("message", string: "\(event.message)")
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !["ts", "level", "label", "message"].contains(key) {
            w.member(key, string: "\(value)")
        }
        w.endObject()
        return w.bytes + [UInt8(ascii: "\n")]
    }
}
