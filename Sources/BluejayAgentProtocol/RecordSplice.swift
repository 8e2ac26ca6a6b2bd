/// Turns a stored record into one element of the flush body's `tool_calls` / `events` /
/// `recorded_transcript` arrays, once the call's answer time is known. Pure byte concatenation.
public enum RecordSplice {
    /// `{"start_offset_ms":N[,"end_offset_ms":M],<fragment>}`
    public static func object(startOffsetMs: Int64, endOffsetMs: Int64?, fragment: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fragment.count + 64)
        out.append(contentsOf: startKey)
        appendDecimal(startOffsetMs, to: &out)
        if let endOffsetMs {
            out.append(contentsOf: endKey)
            appendDecimal(endOffsetMs, to: &out)
        }
        if !fragment.isEmpty {
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: fragment)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Milliseconds since the answer: epoch times are made relative to `answeredAtEpochMs`; both kinds
    /// are clamped to ≥ 0 because Bluejay rejects negative offsets (e.g. a tool call logged before answer).
    public static func offsetMs(_ t: RecordTime, answeredAtEpochMs: Int64) -> Int64 {
        switch t {
        case let .offsetMs(ms):
            return max(0, ms)
        case let .epochMs(ms):
            let (d, overflow) = ms.subtractingReportingOverflow(answeredAtEpochMs)
            if overflow { return ms > answeredAtEpochMs ? .max : 0 }
            return max(0, d)
        }
    }

    private static let startKey: [UInt8] = Array("{\"start_offset_ms\":".utf8)
    private static let endKey: [UInt8] = Array(",\"end_offset_ms\":".utf8)

    private static func appendDecimal(_ v: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: String(v).utf8)
    }
}
