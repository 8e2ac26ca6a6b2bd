import BluejayAgentProtocol
import BluejayJSON
import Foundation
import Logging

/// One JSON object per line on stderr (`--log-format json`), for log shippers:
/// `{"ts":"…","level":"info","label":"…","message":"…", <metadata>}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.member("ts", string: RFC3339.format(epochMs: Int64(Date().timeIntervalSince1970 * 1000)))
        w.member("level", string: event.level.rawValue)
        w.member("label", string: label)
        w.member("message", string: "\(event.message)")
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["ts", "level", "label", "message"].contains(key) {
            w.member(key, string: "\(value)")
        }
        w.endObject()
        LogOutput.shared.write(w.bytes + [UInt8(ascii: "\n")])
    }
}
