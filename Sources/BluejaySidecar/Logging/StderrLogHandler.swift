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

    func log(event: LogEvent) { LogOutput.shared.write(line(event)) }

    /// The line `log` writes, newline included.
    func line(_ event: LogEvent) -> [UInt8] {
        // Sorted pairs, not a merged dictionary: a per-call line on the SIP loop copied, merged and sorted a
        // dictionary, then built the line by String concatenation, four times the CPU of this (perf, 2,000 calls/s).
        var pairs: [(key: String, value: Logger.MetadataValue)] = []
        pairs.reserveCapacity(metadata.count + (event.metadata?.count ?? 0) + 2)
        if let explicit = event.metadata {
            pairs.append(contentsOf: explicit.lazy.map { ($0.key, $0.value) })
            for (key, value) in metadata where explicit[key] == nil { pairs.append((key, value)) }
        } else {
            pairs.append(contentsOf: metadata.lazy.map { ($0.key, $0.value) })
        }
        switch format {
        case .text: return textLine(event, &pairs)
        case .json: return jsonLine(event, &pairs)
        }
    }

    private func textLine(_ event: LogEvent, _ pairs: inout [(key: String, value: Logger.MetadataValue)]) -> [UInt8] {
        if let error = event.error {
            pairs.removeAll { $0.key == "error.message" || $0.key == "error.type" }
            pairs.append(("error.message", .string("\(error)")))
            pairs.append(("error.type", .string(String(reflecting: type(of: error)))))
        }
        pairs.sort { $0.key < $1.key }
        var line: [UInt8] = []
        line.reserveCapacity(192)
        line += LogOutput.shared.timestamp().utf8
        line.append(UInt8(ascii: " "))
        line += event.level.rawValue.utf8
        if !label.isEmpty {
            line.append(UInt8(ascii: " "))
            line += label.utf8
        }
        line.append(UInt8(ascii: ":"))
        for (key, value) in pairs {
            line.append(UInt8(ascii: " "))
            line += key.utf8
            line.append(UInt8(ascii: "="))
            if case .string(let text) = value { line += text.utf8 } else { line += "\(value)".utf8 }
        }
        line += " [".utf8
        line += event.source.utf8
        line += "] ".utf8
        line += event.message.description.utf8
        line.append(UInt8(ascii: "\n"))
        return line
    }

    private func jsonLine(_ event: LogEvent, _ pairs: inout [(key: String, value: Logger.MetadataValue)]) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.member("ts", string: RFC3339.format(epochMs: Int64(Date().timeIntervalSince1970 * 1000)))
        w.member("level", string: event.level.rawValue)
        w.member("label", string: label)
        w.member("message", string: "\(event.message)")
        pairs.sort { $0.key < $1.key }
        for (key, value) in pairs where !["ts", "level", "label", "message"].contains(key) {
            w.member(key, string: "\(value)")
        }
        w.endObject()
        return w.bytes + [UInt8(ascii: "\n")]
    }
}
