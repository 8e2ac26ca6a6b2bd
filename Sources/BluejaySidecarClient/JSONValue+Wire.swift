import BluejayAgentProtocol
import BluejayJSON
import Foundation

/// The client speaks the socket protocol with the sidecar's own JSON writer, scanner and RFC 3339 code,
/// so a request line is encoded exactly as the sidecar's modules would encode it.
extension JSONWriter {
    mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(Int64(i))
        case .double(let d):
            // JSON has no NaN or infinities; null is the conventional stand-in.
            if !d.isFinite { null() } else if d.rounded() == d, abs(d) < 1e15 { int(Int64(d)) } else { raw(Array(d.description.utf8)[...]) }
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for e in elements { value(e) }
            endArray()
        case .object(let members):
            beginObject()
            for m in members { key(m.key); value(m.value) }
            endObject()
        }
    }

    mutating func member(_ k: String, _ v: JSONValue) { key(k); value(v) }
    mutating func member(_ k: String, int v: Int) { member(k, int: Int64(v)) }
}

extension JSONValue {
    /// A reply line decoded by the sidecar's strict scanner.
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        JSONValue(try RawJSON.parse(bytes))
    }

    init(_ raw: RawJSON) {
        switch raw.kind {
        case .null: self = .null
        case .bool: self = .bool(raw.bool ?? false)
        case .number: self = raw.int64.map { .int(Int($0)) } ?? .double(raw.double ?? .nan)
        case .string: self = .string(raw.string ?? "")
        case .array: self = .array((raw.elements ?? []).map(JSONValue.init))
        case .object: self = .object((raw.members ?? []).map { (key: $0.key, value: JSONValue($0.value)) })
        }
    }
}

extension RFC3339 {
    static func format(_ date: Date) -> String { format(epochMs: Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) }
}
