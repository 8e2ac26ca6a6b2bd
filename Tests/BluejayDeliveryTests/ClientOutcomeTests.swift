import BluejayDelivery
import Foundation
import XCTest

/// How each kind of server answer (or non-answer) maps to a DeliveryOutcome.
final class ClientOutcomeTests: XCTestCase {
    var server: TestHTTPServer!
    let body = Array(#"{"simulation_result_id":"sr-1"}"#.utf8)

    override func setUpWithError() throws { server = try TestHTTPServer() }
    override func tearDown() { server.stop() }

    private func outcome(for behavior: ServerBehavior, timeoutMs: Int = 10_000) -> DeliveryOutcome? {
        server.setBehavior { _ in behavior }
        let client = BluejayClient(endpoint: endpoint(server, timeoutMs: timeoutMs))
        defer { client.shutdown(graceMs: 0) }
        return postAndWait(client, body)
    }

    func test200IsDelivered() {
        XCTAssertEqual(outcome(for: .ok), .delivered(status: 200))
    }

    func test422IsRejectedWithTheServersBody() {
        let detail = #"{"detail":[{"loc":["body","tool_calls",0,"name"],"msg":"field required","type":"value_error.missing"}]}"#
        XCTAssertEqual(outcome(for: .respond(status: 422, headers: [("Content-Type", "application/json")], body: detail)),
                       .rejected(status: 422, body: detail))
    }

    func test503WithRetryAfterSecondsIsRetryable() {
        XCTAssertEqual(outcome(for: .respond(status: 503, headers: [("Retry-After", "7")], body: "busy")),
                       .retryable(reason: "HTTP 503", status: 503, retryAfterMs: 7_000))
    }

    func test429WithHTTPDateRetryAfterIsRetryable() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(120))
        guard case .retryable(let reason, let status, let retryAfterMs)? =
            outcome(for: .respond(status: 429, headers: [("Retry-After", date)], body: "")) else {
            return XCTFail("expected retryable")
        }
        XCTAssertEqual(reason, "HTTP 429")
        XCTAssertEqual(status, 429)
        XCTAssertTrue((100_000...121_000).contains(retryAfterMs ?? -1), "\(String(describing: retryAfterMs))")
    }

    func test429WithoutRetryAfter() {
        XCTAssertEqual(outcome(for: .respond(status: 429, headers: [], body: "")),
                       .retryable(reason: "HTTP 429", status: 429, retryAfterMs: nil))
    }

    func testRedirectIsNotFollowedAndRejected() {
        XCTAssertEqual(outcome(for: .respond(status: 301, headers: [("Location", "http://127.0.0.1:1/elsewhere")], body: "moved")),
                       .rejected(status: 301, body: "moved"))
        XCTAssertEqual(server.requests.count, 1)
    }

    func testResponseBodyIsTruncatedTo64KiB() {
        let huge = String(repeating: "x", count: 100_000)
        guard case .rejected(400, let kept)? = outcome(for: .respond(status: 400, headers: [], body: huge)) else {
            return XCTFail("expected rejected 400")
        }
        XCTAssertEqual(kept.utf8.count, 64 * 1024)
    }

    func testClosedWithoutAnswerIsRetryable() {
        let result = outcome(for: .close)
        XCTAssertEqual(result?.isRetryable, true, "\(String(describing: result))")
    }

    func testHangingServerTimesOutAsRetryable() {
        guard case .retryable(let reason, nil, nil)? = outcome(for: .hang, timeoutMs: 300) else {
            return XCTFail("expected retryable")
        }
        XCTAssertTrue(reason.hasPrefix("timeout"), reason)
    }

    func testConnectionRefusedIsRetryable() throws {
        let port = try TestHTTPServer.closedPort()
        let client = BluejayClient(endpoint: BluejayEndpoint(baseURL: "http://127.0.0.1:\(port)", apiKey: TestKey.apiKey))
        defer { client.shutdown() }
        guard case .retryable(let reason, nil, nil)? = postAndWait(client, body) else {
            return XCTFail("expected retryable")
        }
        XCTAssertTrue(reason.hasPrefix("connect failed"), reason)
    }

    func testAPIKeyNeverAppearsInOutcomes() throws {
        // A server that echoes the key back in its error body, plus every failure path that produces text.
        let echo: @Sendable (RecordedRequest) -> ServerBehavior = { request in
            .respond(status: 422, headers: [], body: "bad key \(request.headers["X-API-Key"].first ?? "")!")
        }
        server.setBehavior(echo)
        let client = BluejayClient(endpoint: endpoint(server, timeoutMs: 300))
        defer { client.shutdown(graceMs: 0) }
        var outcomes: [DeliveryOutcome?] = [postAndWait(client, body)]
        XCTAssertEqual(outcomes.first, .rejected(status: 422, body: "bad key [redacted]!"))
        for behavior in [ServerBehavior.hang, .close, .respond(status: 503, headers: [], body: TestKey.apiKey)] {
            server.setBehavior { _ in behavior }
            outcomes.append(postAndWait(client, body))
        }
        let refused = BluejayClient(endpoint: BluejayEndpoint(
            baseURL: "http://127.0.0.1:\(try TestHTTPServer.closedPort())", apiKey: TestKey.apiKey))
        defer { refused.shutdown() }
        outcomes.append(postAndWait(refused, body))

        XCTAssertEqual(outcomes.count, 5)
        for outcome in outcomes {
            XCTAssertNotNil(outcome)
            XCTAssertFalse(outcome?.text.contains(TestKey.apiKey) ?? true, "\(String(describing: outcome))")
            XCTAssertFalse(String(describing: outcome).contains(TestKey.apiKey))
        }
    }
}
