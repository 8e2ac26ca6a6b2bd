/// Why `RawJSON.parse` rejected its input; the offset lets a reply point at the bad byte.
public enum JSONScanError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not RFC 8259 JSON; `offset` counts bytes from the start of the input.
    case invalid(offset: Int, reason: String)
    /// Arrays/objects nested deeper than `RawJSON.maxDepth`; bounds stack use on hostile input.
    case tooDeep
    /// Nothing but whitespace.
    case empty

    public var description: String {
        switch self {
        case let .invalid(offset, reason): return "invalid JSON at byte \(offset): \(reason)"
        case .tooDeep: return "JSON nested deeper than \(RawJSON.maxDepth) levels"
        case .empty: return "empty input"
        }
    }
}
