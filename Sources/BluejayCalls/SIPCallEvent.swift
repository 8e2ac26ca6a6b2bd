import BluejayJSON
import BluejaySIP

/// Something the agent did in SIP that Bluejay should judge, recorded for the call like an agent's event:
/// answered, transfer, DTMF, hold/resume, ended.
public struct SIPCallEvent: Equatable, Sendable {
    /// The ledger kind of SIP-derived events: flushed as `events[]`, but not counted as the agent's records.
    public static let recordKind = "sip_event"

    public var title: String
    public var atMs: Int64
    public var description: String?
    public var metadata: [(String, String)]

    public init(title: String, atMs: Int64, description: String? = nil, metadata: [(String, String)] = []) {
        self.title = title
        self.atMs = atMs
        self.description = description
        self.metadata = metadata
    }

    public static func == (a: SIPCallEvent, b: SIPCallEvent) -> Bool {
        a.title == b.title && a.atMs == b.atMs && a.description == b.description
            && a.metadata.map(\.0) == b.metadata.map(\.0) && a.metadata.map(\.1) == b.metadata.map(\.1)
    }

    /// The event as Bluejay-shaped object members (no braces, no offsets): what the ledger stores for an event.
    public var fragment: [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.member("title", string: title)
        if let description { w.member("description", string: description) }
        w.key("tags")
        w.beginArray()
        w.string("sip")
        w.endArray()
        if !metadata.isEmpty {
            w.key("metadata")
            w.beginObject()
            for (k, v) in metadata { w.member(k, string: v) }
            w.endObject()
        }
        w.endObject()
        return Array(w.bytes.dropFirst().dropLast())
    }
}

/// Reads SIP-derived events out of messages; shared by the UAS and the passive observer.
public enum SIPEventReader {
    /// The media direction an SDP body asks for (`a=sendonly|recvonly|inactive|sendrecv`), session or first media level.
    public static func direction(ofSDP body: [UInt8]) -> String? {
        var found: String?
        for line in String(decoding: body, as: UTF8.self).split(whereSeparator: \.isNewline) {
            switch line {
            case "a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv": found = String(line.dropFirst(2))
            default: continue
            }
            if found != nil { break }
        }
        return found
    }

    /// A re-offer that puts the other side on hold (sendonly/inactive) or takes it off (sendrecv or none).
    public static func holdChange(_ request: SIPMessage, wasOnHold: Bool) -> Bool? {
        guard !request.body.isEmpty, request.contentType?.lowercased() == "application/sdp" else { return nil }
        let dir = direction(ofSDP: request.body) ?? "sendrecv"
        let onHold = dir == "sendonly" || dir == "inactive"
        return onHold == wasOnHold ? nil : onHold
    }

    /// DTMF from INFO: `application/dtmf-relay` (`Signal=5`, `Duration=160`) or `application/dtmf` (the digit).
    public static func dtmf(_ request: SIPMessage, atMs: Int64) -> SIPCallEvent? {
        guard request.method == "INFO", let type = request.contentType?.lowercased() else { return nil }
        let text = String(decoding: request.body, as: UTF8.self)
        var digit: String?
        var duration: String?
        if type == "application/dtmf-relay" {
            for line in text.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                if parts[0].lowercased() == "signal" { digit = parts[1] }
                if parts[0].lowercased() == "duration" { duration = parts[1] }
            }
        } else if type == "application/dtmf" {
            digit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let digit, !digit.isEmpty, digit.count <= 2 else { return nil }
        var metadata = [("digit", digit)]
        if let duration { metadata.append(("duration", duration)) }
        return SIPCallEvent(title: "dtmf", atMs: atMs, description: "DTMF \(digit)", metadata: metadata)
    }

    /// REFER: the transfer target.
    public static func transfer(_ request: SIPMessage, atMs: Int64, by: String) -> SIPCallEvent? {
        guard request.method == "REFER" else { return nil }
        let target = (request.headerValues("Refer-To").first ?? request.headerValues("r").first ?? "").trimmingCharacters(in: .whitespaces)
        return SIPCallEvent(title: "transfer", atMs: atMs, description: "transfer requested by \(by)",
                            metadata: [("refer_to", target), ("requested_by", by)])
    }

    /// NOTIFY with a message/sipfrag body: how the transfer went ("SIP/2.0 200 OK").
    public static func transferOutcome(_ request: SIPMessage, atMs: Int64) -> SIPCallEvent? {
        guard request.method == "NOTIFY", request.contentType?.lowercased() == "message/sipfrag" else { return nil }
        let line = String(decoding: request.body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let code = Int(parts[1]), code >= 200 else { return nil } // provisional progress is not an outcome
        return SIPCallEvent(title: "transfer_result", atMs: atMs, description: line,
                            metadata: [("status", String(code)), ("succeeded", String(code < 300))])
    }

    /// The end of the call: who hung up and the Reason header, if any.
    public static func ended(atMs: Int64, by: String, reason: String, message: SIPMessage?) -> SIPCallEvent {
        var metadata = [("ended_by", by), ("end_reason", reason)]
        if let header = message?.headerValues("Reason").first { metadata.append(("reason_header", header)) }
        return SIPCallEvent(title: "call_ended", atMs: atMs, description: "ended by \(by) (\(reason))", metadata: metadata)
    }
}

import Foundation
