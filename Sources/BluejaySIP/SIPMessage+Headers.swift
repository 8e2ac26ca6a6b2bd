import COSIP2

/// Header access by name, from the wire scan (`fields`), because libosip2 lowercases the names of
/// headers it does not know and keeps folds as runs of spaces.
extension SIPMessage {
    /// Every header libosip2 did not map to a known field (its "other headers"), in message order,
    /// name as written, value unfolded and trimmed. A comma list (e.g. `Supported: a, b`) stays one
    /// entry here, whereas libosip2 splits it.
    public var extensionHeaders: [(name: String, value: String)] {
        var osipNames = Set<String>()
        for header in OSIP.elements(UnsafePointer(osip.field(\.headers)), as: osip_header_t.self) {
            if let name = header.pointee.hname { osipNames.insert(ASCII.lowercased(String(cString: name))) }
        }
        guard !osipNames.isEmpty else { return [] }
        return fields.compactMap { field in
            osipNames.contains(ASCII.lowercased(field.name)) ? (name: field.name, value: field.value) : nil
        }
    }

    /// Values of every header with this name, case-insensitive, compact forms included ("k" for
    /// Supported, "x" for Session-Expires...), in message order. Covers known headers too.
    public func headerValues(_ name: String) -> [String] {
        let wanted = SIPHeaderField.canonicalName(name)
        return fields.compactMap { SIPHeaderField.canonicalName($0.name) == wanted ? $0.value : nil }
    }

    /// X-Simulation-Result-Id: name case-insensitive, value trimmed and unfolded; the first occurrence
    /// wins (nil if that one is empty, since an empty id identifies nothing).
    public var simulationResultID: String? {
        guard let first = fields.first(where: { ASCII.equalsIgnoringCase($0.name, SIPMessage.simulationResultHeader) }) else {
            return nil
        }
        return first.value.isEmpty ? nil : first.value
    }

    /// How many X-Simulation-Result-Id headers the message had, so a duplicate can be logged.
    public var simulationResultIDCount: Int {
        fields.reduce(0) { ASCII.equalsIgnoringCase($1.name, SIPMessage.simulationResultHeader) ? $0 + 1 : $0 }
    }

    static let simulationResultHeader = "X-Simulation-Result-Id"

    /// All `X-` headers (any case), values trimmed and unfolded, in order (metadata.sip_headers).
    public var xHeaders: [(name: String, value: String)] {
        fields.compactMap { ASCII.hasPrefixIgnoringCase($0.name, "x-") ? (name: $0.name, value: $0.value) : nil }
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
