import COSIP2

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Header access by name, from the received bytes (`headerIndex`), because libosip2 lowercases the
/// names of headers it does not know and keeps folds as runs of spaces.
extension SIPMessage {
    /// Every header libosip2 did not map to a known field (its "other headers"), in message order,
    /// name as written, value unfolded and trimmed. A comma list (e.g. `Supported: a, b`) stays one
    /// entry here, whereas libosip2 splits it.
    public var extensionHeaders: [(name: String, value: String)] {
        let osipNames = OSIP.elements(UnsafePointer(osip.field(\.headers)), as: osip_header_t.self).compactMap { header in
            header.pointee.hname.map { UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0)) }
        }
        guard !osipNames.isEmpty else { return [] }
        let index = headerIndex
        return index.entries.compactMap { entry in
            osipNames.contains { index.nameEquals(entry, ignoringCase: $0) } ? (name: index.name(entry), value: index.value(entry)) : nil
        }
    }

    /// Values of every header with this name, case-insensitive, compact forms included ("k" for
    /// Supported, "x" for Session-Expires...), in message order. Covers known headers too.
    public func headerValues(_ name: String) -> [String] {
        let wanted = SIPHeaderField.canonicalName(name)
        let index = headerIndex
        return index.entries.compactMap { index.hasCanonicalName($0, wanted) ? index.value($0) : nil }
    }

    /// X-Simulation-Result-Id: name case-insensitive, value trimmed and unfolded; the first occurrence
    /// wins (nil if that one is empty, since an empty id identifies nothing).
    public var simulationResultID: String? {
        let index = headerIndex
        guard let first = index.entries.first(where: { index.nameIs($0, SIPMessage.simulationResultHeader) }) else {
            return nil
        }
        let value = index.value(first)
        return value.isEmpty ? nil : value
    }

    /// How many X-Simulation-Result-Id headers the message had, so a duplicate can be logged.
    public var simulationResultIDCount: Int {
        let index = headerIndex
        return index.entries.reduce(0) { index.nameIs($1, SIPMessage.simulationResultHeader) ? $0 + 1 : $0 }
    }

    /// Lowercase, for `SIPHeaderIndex.nameIs`.
    static let simulationResultHeader: StaticString = "x-simulation-result-id"

    /// All `X-` headers (any case), values trimmed and unfolded, in order (metadata.sip_headers).
    public var xHeaders: [(name: String, value: String)] {
        let index = headerIndex
        return index.entries.compactMap { index.nameHasPrefix($0, "x-") ? (name: index.name($0), value: index.value($0)) : nil }
    }

    /// RFC 4028 Session-Expires (compact "x"): delta-seconds and the refresher parameter ("uac"/"uas",
    /// lowercased). nil when absent or when the delta is not a number.
    public var sessionExpires: (seconds: Int, refresher: String?)? {
        guard let value = headerValues("Session-Expires").first else { return nil }
        var parts = value.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
        guard let delta = parts.next(), let seconds = ASCII.parseDigits(ASCII.trimmed(String(delta))) else { return nil }
        var refresher: String?
        while let part = parts.next() {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, ASCII.equalsIgnoringCase(ASCII.trimmed(String(pair[0])), "refresher") {
                refresher = ASCII.lowercased(ASCII.trimmed(String(pair[1])))
            }
        }
        return (seconds, refresher)
    }

    /// RFC 4028 Min-SE delta-seconds.
    public var minSE: Int? {
        guard let value = headerValues("Min-SE").first else { return nil }
        let delta = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return ASCII.parseDigits(ASCII.trimmed(delta))
    }

    /// Option tags from every Supported (compact "k") header.
    public var supported: [String] { optionTags("Supported") }

    /// Option tags from every Require header.
    public var require: [String] { optionTags("Require") }

    private func optionTags(_ header: String) -> [String] {
        headerValues(header).flatMap { value in
            value.split(separator: ",").map { ASCII.trimmed(String($0)) }.filter { !$0.isEmpty }
        }
    }
}
