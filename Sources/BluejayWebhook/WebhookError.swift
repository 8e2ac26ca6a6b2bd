/// Why a webhook body was rejected (the HTTP layer answers 400 with it).
///
/// Messages are built from our own field names and fixed text, never from the body's values,
/// so a reply or log line cannot be made to carry attacker-chosen content.
public struct WebhookError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Path of the offending field, e.g. `type`, `id`, `digital_humans[1].phone_number`; "" for the whole body.
    public var field: String
    /// Human text naming the field and what was expected.
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
