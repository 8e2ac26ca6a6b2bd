import Foundation

/// Edits a fixture at a field path (`digital_humans[1].phone_number`) to build invalid bodies.
/// Test-only: Foundation's JSONSerialization is fine here, the decoder under test never sees it.
enum JSONMutation {
    case remove(String)
    /// Sets the path to a JSON value given as text; an index one past the end appends.
    case set(String, json: String)

    var path: String {
        switch self {
        case let .remove(p), let .set(p, _): return p
        }
    }

    func apply(to body: [UInt8]) throws -> String {
        let root = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        let segments = JSONMutation.segments(path)
        let edited: Any
        switch self {
        case .remove: edited = try JSONMutation.edit(root, segments[...], nil)
        case let .set(_, text):
            edited = try JSONMutation.edit(root, segments[...],
                                           JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
        }
        let data = try JSONSerialization.data(withJSONObject: edited, options: [.fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    private enum Segment { case key(String), index(Int) }

    private static func segments(_ path: String) -> [Segment] {
        var out: [Segment] = []
        for part in path.split(separator: ".") {
            var rest = Substring(part)
            if let b = rest.firstIndex(of: "[") {
                out.append(.key(String(rest[..<b])))
                rest = rest[b...]
                while let open = rest.firstIndex(of: "["), let close = rest.firstIndex(of: "]") {
                    out.append(.index(Int(rest[rest.index(after: open)..<close])!))
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                out.append(.key(String(rest)))
            }
        }
        return out
    }

    /// `value == nil` removes the last segment.
    private static func edit(_ node: Any, _ path: ArraySlice<Segment>, _ value: Any?) throws -> Any {
        guard let first = path.first else { return value as Any }
        let last = path.count == 1
        switch first {
        case let .key(k):
            guard var dict = node as? [String: Any] else { throw NSError(domain: "JSONMutation", code: 1) }
            if last { dict[k] = value } else {
                guard let child = dict[k] else { throw NSError(domain: "JSONMutation", code: 2) }
                dict[k] = try edit(child, path.dropFirst(), value)
            }
            return dict
        case let .index(i):
            guard var array = node as? [Any] else { throw NSError(domain: "JSONMutation", code: 3) }
            if last {
                if let value { if i == array.count { array.append(value) } else { array[i] = value } } else { array.remove(at: i) }
            } else {
                array[i] = try edit(array[i], path.dropFirst(), value)
            }
            return array
        }
    }
}
