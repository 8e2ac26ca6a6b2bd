import BluejayStore
import BluejayWebhook
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore

/// Bluejay's events webhook: authenticated, validated, stored once, acknowledged as soon as it is durable;
/// what it sets in motion (a flush, an outbound number) happens after the commit.
final class WebhookEndpoint: @unchecked Sendable {
    private let writer: StoreWriter
    private let actions: WebhookActions
    private let logger: Logger
    private let secretLock = NSLock()
    private var secret: [UInt8]?

    init(writer: StoreWriter, secret: String?, actions: WebhookActions, logger: Logger) {
        self.writer = writer
        self.secret = secret.map { Array($0.utf8) }
        self.actions = actions
        self.logger = logger
    }

    /// The secret can change live (SIGHUP reload).
    func setSecret(_ value: String?) {
        secretLock.lock(); defer { secretLock.unlock() }
        secret = value.map { Array($0.utf8) }
    }

    private var currentSecret: [UInt8]? {
        secretLock.lock(); defer { secretLock.unlock() }
        return secret
    }

    func handle(_ request: Request, context: SidecarRequestContext) async throws -> Response {
        if let secret = currentSecret {
            let given = request.headers[HTTPField.Name("x-webhook-secret")!].map { Array($0.utf8) } ?? []
            guard ConstantTime.equals(given, secret) else {
                logger.warning("webhook refused: missing or wrong x-webhook-secret", metadata: ["peer": "\(context.remoteAddress?.description ?? "-")"])
                return JSONResponse.error(.unauthorized, "unauthorized")
            }
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: WebhookDecoder.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return JSONResponse.error(.contentTooLarge, "too_large", message: "body over \(WebhookDecoder.maxBodyBytes) bytes")
        }
        let body = Array(buffer.readableBytesView)
        let event: WebhookEvent
        switch WebhookDecoder.decode(body) {
        case .failure(let error):
            logger.info("webhook refused: invalid body", metadata: ["field": "\(error.field)", "error": "\(error.message)"])
            return JSONResponse.object(.badRequest) { w in
                w.member("error", string: "invalid_body")
                w.member("field", string: error.field)
                w.member("message", string: error.message)
            }
        case .success(let decoded):
            event = decoded
        }

        let digest = WebhookDecoder.digest(body)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let stored: Bool
        do {
            stored = try await writer.commit { db in try Self.store(event, body: body, digest: digest, nowMs: now, in: db) }
        } catch {
            logger.error("webhook not stored", metadata: ["error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable, "store_unavailable")
        }
        Counter(label: "bluejay_sidecar_webhook_events_total", dimensions: [("type", event.metricType)]).increment()
        guard stored else {
            actions.applyAgain(event)
            return JSONResponse.object { $0.member("status", string: "duplicate") }
        }
        logger.info("webhook event received", metadata: ["type": "\(event.metricType)"])
        actions.apply(event)
        return JSONResponse.object { $0.member("status", string: "received") }
    }

    /// Stores the event and its durable effects in one transaction; false when the same body was stored before.
    private static func store(_ event: WebhookEvent, body: [UInt8], digest: String, nowMs: Int64, in db: SQLiteConnection) throws -> Bool {
        guard let eventID = try WebhookStore.insertEvent(digest: digest, type: event.typeName, subjectID: event.subjectID,
                                                         body: body, nowMs: nowMs, in: db) else { return false }
        switch event {
        case .simulationResultEvaluated(let id, let figures, _), .observabilityCallEvaluated(let id, let figures, _):
            try WebhookStore.upsertResult(WebhookStore.Result(
                id: id, kind: event.typeName, status: figures.status, goalSuccess: figures.goalSuccess,
                hallucination: figures.hallucination, p50AgentLatencyMs: figures.p50AgentLatencyMs,
                p90AgentLatencyMs: figures.p90AgentLatencyMs, eventID: eventID, receivedAtMs: nowMs), in: db)
        case .outboundSimulationStarted(_, let humans):
            for human in humans {
                try WebhookStore.addOutboundNumbers(e164: human.e164Digits, simulationResultIDs: human.simulationResultIDs, nowMs: nowMs, in: db)
            }
        case .simulationEnded, .unknown:
            break
        }
        return true
    }
}

extension WebhookEvent {
    var typeName: String {
        switch self {
        case .simulationResultEvaluated: return WebhookKind.simulationResultEvaluated.rawValue
        case .observabilityCallEvaluated: return WebhookKind.observabilityCallEvaluated.rawValue
        case .simulationEnded: return WebhookKind.simulationEnded.rawValue
        case .outboundSimulationStarted: return WebhookKind.outboundSimulationStarted.rawValue
        case .unknown(let type): return type
        }
    }

    /// Bounded label values: an unknown type is counted as "unknown", never by its (untrusted) name.
    var metricType: String {
        if case .unknown = self { return "unknown" }
        return typeName
    }

    var subjectID: String? {
        switch self {
        case .simulationResultEvaluated(let id, _, _), .observabilityCallEvaluated(let id, _, _), .simulationEnded(let id, _): return id
        case .outboundSimulationStarted(let run, _): return run
        case .unknown: return nil
        }
    }
}
