import BluejayDelivery
import XCTest

/// What arrives at the server: method, path, headers and body, exactly as posted.
final class ClientRequestTests: XCTestCase {
    var server: TestHTTPServer!

    override func setUpWithError() throws { server = try TestHTTPServer() }
    override func tearDown() { server.stop() }

    func testBodyAndHeadersArriveByteForByte() throws {
        let client = BluejayClient(endpoint: endpoint(server))
        defer { client.shutdown() }
        // Non-ASCII UTF-8, a NUL byte and a body big enough that curl would otherwise send "Expect: 100-continue".
        let small = Array(#"{"simulation_result_id":"sr-ü-✓","tags":["a\u0000b"]}"#.utf8) + [0]
        let large = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

        for body in [small, large] {
            XCTAssertEqual(postAndWait(client, body), .delivered(status: 200))
        }
        let requests = server.requests
        XCTAssertEqual(requests.count, 2)
        for (request, body) in zip(requests, [small, large]) {
            XCTAssertEqual(request.method, "POST")
            XCTAssertEqual(request.uri, "/v1/update-simulation-result")
            XCTAssertEqual(request.headers["X-API-Key"], [TestKey.apiKey])
            XCTAssertEqual(request.headers["Content-Type"], ["application/json"])
            XCTAssertEqual(request.headers["Content-Length"], [String(body.count)])
            XCTAssertEqual(request.headers["User-Agent"], ["bluejay-sidecar"])
            XCTAssertEqual(request.headers["Expect"], [])
            XCTAssertEqual(request.body, body)
        }
    }

    func testEmptyBodyIsPostedWithZeroLength() {
        let client = BluejayClient(endpoint: endpoint(server))
        defer { client.shutdown() }
        XCTAssertEqual(postAndWait(client, []), .delivered(status: 200))
        XCTAssertEqual(server.requests.first?.method, "POST")
        XCTAssertEqual(server.requests.first?.headers["Content-Length"], ["0"])
        XCTAssertEqual(server.requests.first?.body, [])
    }

    func testCompletionRunsOnTheClientThread() {
        let client = BluejayClient(endpoint: endpoint(server))
        defer { client.shutdown() }
        let done = expectation(description: "completion")
        let box = OutcomeBox()
        client.post(body: Array("{}".utf8)) { outcome in
            box.append(outcome)
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(box.threadNames, ["bj-delivery"])
        XCTAssertEqual(box.kernelThreadNames, ["bj-delivery"])
    }

    func testEndpointURLDropsTrailingSlashes() {
        XCTAssertEqual(BluejayEndpoint(baseURL: "https://api.getbluejay.ai", apiKey: "k").updateSimulationResultURL,
                       "https://api.getbluejay.ai/v1/update-simulation-result")
        XCTAssertEqual(BluejayEndpoint(baseURL: "https://api.getbluejay.ai//", apiKey: "k").updateSimulationResultURL,
                       "https://api.getbluejay.ai/v1/update-simulation-result")
    }
}
