import BluejayStore
import BluejayWebhook
import Foundation
import Hummingbird
import Metrics
import NIOCore
import Prometheus

/// The HTTP listener's routes. Open: health, readiness and the webhook. Admin (`/`, `/metrics`, `/v1/...`):
/// a bearer token when one is configured, else loopback peers only.
struct HTTPRoutes: Sendable {
    let admin: AdminAPI
    let webhook: WebhookEndpoint
    let metrics: PrometheusCollectorRegistry
    let adminToken: String?
    let isReady: @Sendable () async -> Bool

    func router() -> Router<SidecarRequestContext> {
        let router = Router(context: SidecarRequestContext.self)
        router.get("/healthz") { _, _ in JSONResponse.object { $0.member("status", string: "ok") } }
        router.get("/readyz") { _, _ in
            await isReady() ? JSONResponse.object { $0.member("status", string: "ready") }
                : JSONResponse.object(.serviceUnavailable) { $0.member("status", string: "not_ready") }
        }
        router.post("/webhooks/events_webhook") { request, context in try await webhook.handle(request, context: context) }
        router.post("/webhooks/bluejay") { request, context in try await webhook.handle(request, context: context) }

        let guarded = router.group().addMiddleware { AdminGuard(token: adminToken) }
        guarded.get("/") { _, _ in
            let html = StatusPage.render(calls: admin.calls(), outbox: try admin.outboxView(limit: 10),
                                         results: try admin.recentResults(limit: 20), nowMs: Int64(Date().timeIntervalSince1970 * 1000))
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        guarded.get("/metrics") { _, _ in
            let view = try admin.outboxView(limit: 0)
            Gauge(label: "bluejay_sidecar_outbox_depth", dimensions: [("state", "pending")]).record(view.pending)
            Gauge(label: "bluejay_sidecar_outbox_depth", dimensions: [("state", "dead")]).record(view.dead)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        guarded.get("/v1/calls") { _, _ in admin.listCalls() }
        guarded.get("/v1/calls/{call_id}") { _, context in
            // Call-IDs carry '@', '/', '%' and more: the path segment arrives percent-encoded.
            let raw = try context.parameters.require("call_id")
            return try admin.call(raw.removingPercentEncoding ?? raw)
        }
        guarded.get("/v1/outbox") { _, _ in try admin.outbox() }
        guarded.post("/v1/outbox/{id}/retry") { _, context in
            guard let id = Int64(try context.parameters.require("id")) else { return JSONResponse.error(.notFound, "not_found") }
            return try await admin.retry(id)
        }
        guarded.get("/v1/results") { _, _ in try admin.results() }
        guarded.get("/v1/results/{id}") { _, context in
            let raw = try context.parameters.require("id")
            return try admin.result(raw.removingPercentEncoding ?? raw)
        }
        return router
    }
}

/// Admin routes: `Authorization: Bearer <token>` when a token is set (compared in constant time), else loopback only.
struct AdminGuard: RouterMiddleware {
    typealias Context = SidecarRequestContext
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let token {
            let given = request.headers[.authorization].map { Array($0.utf8) } ?? []
            guard ConstantTime.equals(given, Array("Bearer \(token)".utf8)) else {
                return JSONResponse.error(.unauthorized, "unauthorized")
            }
        } else if !context.isLoopbackPeer {
            return JSONResponse.error(.forbidden, "forbidden", message: "admin routes answer loopback only unless --admin-token is set")
        }
        return try await next(request, context)
    }
}
