import BluejayAgentProtocol
import BluejayJSON
import Hummingbird
import NIOCore

/// The admin API's responses: JSON built with `JSONWriter`, no Codable round-trips.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func object(_ status: HTTPResponse.Status = .ok, _ build: (inout JSONWriter) -> Void) -> Response {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        build(&w)
        w.endObject()
        return make(status, w.bytes)
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, message: String? = nil) -> Response {
        object(status) { w in
            w.member("error", string: code)
            if let message { w.member("message", string: message) }
        }
    }
}

extension JSONWriter {
    mutating func member(_ key: String, optional value: String?) {
        if let value { member(key, string: value) } else { memberNull(key) }
    }

    mutating func member(_ key: String, optionalInt value: Int64?) {
        if let value { member(key, int: value) } else { memberNull(key) }
    }

    mutating func member(_ key: String, optionalBool value: Bool?) {
        if let value { member(key, bool: value) } else { memberNull(key) }
    }

    /// A number that may have a fraction (latencies): integers stay integers.
    mutating func member(_ key: String, optionalDouble value: Double?) {
        guard let value, value.isFinite else { return memberNull(key) }
        if let whole = value.exactInt64 { member(key, int: whole) } else { member(key, raw: Array(String(value).utf8)[...]) }
    }

    mutating func member(_ key: String, time ms: Int64?) {
        member(key, optional: ms.map { RFC3339.format(epochMs: $0) })
    }
}

extension Double {
    /// The value as an integer when it is one and a Double holds it exactly (latencies print without ".0").
    /// `Int64(_:)` traps beyond its range, and the schema lets Bluejay send any number.
    var exactInt64: Int64? { self == rounded() && abs(self) < 1e15 ? Int64(self) : nil }
}
