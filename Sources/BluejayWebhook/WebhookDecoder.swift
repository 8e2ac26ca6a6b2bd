import BluejayJSON
import Crypto

/// Validates and decodes Bluejay's events-webhook bodies (`shared/bluejay/events-webhook.schema.json`).
///
/// There is no JSON Schema validator for Swift here, so each known variant's requirements are
/// checked by hand; the tests run every accepted fixture and every rejected body through
/// python-jsonschema too, so the two stay in agreement.
public enum WebhookDecoder {
    /// Largest body accepted. The HTTP layer should refuse bigger ones before reading them;
    /// `decode` refuses them as well so no caller can forget.
    public static let maxBodyBytes = 10 << 20

    /// Validates and decodes. Malformed JSON, a body over `maxBodyBytes` or a non-object → field "";
    /// missing or non-string `type` → field "type"; a known variant with a required field missing or a
    /// field of the wrong type → that field's path. Any other `type` is `.unknown`.
    public static func decode(_ body: [UInt8]) -> Result<WebhookEvent, WebhookError> {
        Result { () throws(WebhookError) in try decodeThrowing(body) }
    }

    /// A stable digest of the event (SHA-256, lowercase hex, of its canonical JSON: keys sorted, no
    /// insignificant white space), to store each event once even when a redelivery is serialised anew.
    /// A body that is not JSON digests as its exact bytes.
    public static func digest(_ body: [UInt8]) -> String {
        let canonical = (try? RawJSON.parse(body)).map(CanonicalJSON.bytes) ?? body
        var hex = ""
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: canonical) {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0f)])
        }
        return hex
    }

    private static let hexDigits = Array("0123456789abcdef")

    private static func decodeThrowing(_ body: [UInt8]) throws(WebhookError) -> WebhookEvent {
        guard body.count <= maxBodyBytes else {
            throw WebhookError(field: "", message: "the body is larger than \(maxBodyBytes) bytes")
        }
        let json: RawJSON
        do {
            json = try RawJSON.parse(body)
        } catch {
            throw WebhookError(field: "", message: "the body is not valid JSON: \(error)")
        }
        let root = try WebhookField(json, path: "").object()
        let type = try root.required("type").string()
        guard let kind = WebhookKind(rawValue: type) else { return .unknown(type: type) }
        return try WebhookEvent.read(kind, root)
    }
}
