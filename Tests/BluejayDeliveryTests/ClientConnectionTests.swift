import BluejayDelivery
import Foundation
import XCTest

/// Keep-alive reuse, the concurrency bound, and isolation from a hanging request.
final class ClientConnectionTests: XCTestCase {
    var server: TestHTTPServer!

    override func setUpWithError() throws { server = try TestHTTPServer() }
    override func tearDown() { server.stop() }

    func testSequentialPostsReuseOneConnection() {
        let client = BluejayClient(endpoint: endpoint(server))
        defer { client.shutdown() }
        for i in 0..<100 {
            XCTAssertEqual(postAndWait(client, Array("{\"n\":\(i)}".utf8)), .delivered(status: 200))
        }
        XCTAssertEqual(server.requests.count, 100)
        XCTAssertEqual(server.connectionCount, 1)
    }

    func testConcurrentPostsStayWithinMaxConcurrentConnections() {
        let maxConcurrent = 8
        let client = BluejayClient(endpoint: endpoint(server), maxConcurrent: maxConcurrent)
        defer { client.shutdown() }
        let box = OutcomeBox()
        let done = expectation(description: "all posts complete")
        done.expectedFulfillmentCount = 200
        let bodies = (0..<200).map { Array("{\"n\":\($0)}".utf8) }
        DispatchQueue.concurrentPerform(iterations: bodies.count) { i in
            client.post(body: bodies[i]) { outcome in
                box.append(outcome)
                done.fulfill()
            }
        }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(box.outcomes.count, 200)
        XCTAssertTrue(box.outcomes.allSatisfy { $0 == .delivered(status: 200) })
        XCTAssertEqual(Set(server.requests.map(\.body)), Set(bodies))
        XCTAssertLessThanOrEqual(server.connectionCount, maxConcurrent)
        XCTAssertGreaterThanOrEqual(server.connectionCount, 1)
    }

    func testHangingRequestDoesNotBlockOthers() {
        server.setBehavior { request in request.body == Array("hang".utf8) ? .hang : .ok }
        let client = BluejayClient(endpoint: endpoint(server, timeoutMs: 30_000), maxConcurrent: 2)
        let hung = OutcomeBox()
        let hungDone = expectation(description: "hung post completes at shutdown")
        client.post(body: Array("hang".utf8)) { outcome in
            hung.append(outcome)
            hungDone.fulfill()
        }
        XCTAssertTrue(waitUntil { self.server.requests.count == 1 }, "hanging request reached the server")

        for i in 0..<5 {
            XCTAssertEqual(postAndWait(client, Array("{\"n\":\(i)}".utf8)), .delivered(status: 200))
        }
        XCTAssertEqual(hung.outcomes, [], "the hanging request is still in flight")

        client.shutdown(graceMs: 0)
        wait(for: [hungDone], timeout: 10)
        XCTAssertEqual(hung.outcomes, [.retryable(reason: "shutdown", status: nil, retryAfterMs: nil)])
    }
}
