import BluejayJSON
@testable import BluejayWebhook
import FuzzSupport

/// One events-webhook body, decoded and digested as `WebhookEndpoint` does. The digest deduplicates
/// redeliveries, so a body and its canonical form (what a sender re-serialising the same event may send) must
/// digest and decode alike.
func fuzzWebhook(_ body: [UInt8]) {
    let event = WebhookDecoder.decode(body)
    let digest = WebhookDecoder.digest(body)
    invariant(digest.utf8.count == 64 && digest.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) },
              "digest is not 64 lowercase hex digits: \(digest)")

    if case .success(let decoded) = event, case .outboundSimulationStarted(_, let humans) = decoded {
        for human in humans {
            invariant(human.e164Digits.utf8.allSatisfy { (48...57).contains($0) }, "E.164 digits with a non-digit: \(human.e164Digits)")
        }
    }

    guard let json = try? RawJSON.parse(body) else { return }
    let canonical = CanonicalJSON.bytes(json)
    invariant(WebhookDecoder.digest(canonical) == digest, "the canonical form digests differently")
    invariant((try? RawJSON.parse(canonical)).map(CanonicalJSON.bytes) == canonical, "canonical JSON is not a fixed point")
    // A key given twice is refused when read, while the canonical form keeps only its last value: such a body
    // never gets stored, so only bodies without repeats must decode alike.
    guard !hasRepeatedKeys(json) else { return }
    switch (event, WebhookDecoder.decode(canonical)) {
    case (.success(let a), .success(let b)):
        invariant(comparable(a) == comparable(b), "the canonical form decodes to another event: \(a) vs \(b)")
    case (.failure(let a), .failure(let b)):
        invariant(a.field == b.field, "the canonical form fails on another field: \(a.field) vs \(b.field)")
    case (let a, let b):
        invariant(false, "the canonical form decodes differently: \(a) vs \(b)")
    }
}

/// `tool_calls` is kept as the raw bytes sent, so only its canonical form must agree.
private func comparable(_ event: WebhookEvent) -> WebhookEvent {
    func same(_ raw: [UInt8]) -> [UInt8] { (try? RawJSON.parse(raw)).map(CanonicalJSON.bytes) ?? raw }
    switch event {
    case .simulationResultEvaluated(let id, let figures, let toolCalls):
        return .simulationResultEvaluated(simulationResultID: id, figures: figures, toolCallsJSON: same(toolCalls))
    case .observabilityCallEvaluated(let id, let figures, let toolCalls):
        return .observabilityCallEvaluated(callID: id, figures: figures, toolCallsJSON: same(toolCalls))
    default:
        return event
    }
}

private func hasRepeatedKeys(_ value: RawJSON) -> Bool {
    if let members = value.members {
        var seen = Set<String>()
        for (key, member) in members {
            if !seen.insert(key).inserted || hasRepeatedKeys(member) { return true }
        }
    }
    return value.elements?.contains(where: hasRepeatedKeys) ?? false
}
