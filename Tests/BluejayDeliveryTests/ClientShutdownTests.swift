import BluejayDelivery
import Foundation
import XCTest

/// Shutdown: grace for in-flight transfers, "shutdown" for everything else, exactly one completion each.
final class ClientShutdownTests: XCTestCase {
    var server: TestHTTPServer!
    let shutdownOutcome = DeliveryOutcome.retryable(reason: "shutdown", status: nil, retryAfterMs: nil)

    override func setUpWithError() throws { server = try TestHTTPServer() }
    override func tearDown() { server.stop() }

    func testShutdownCompletesPendingAsRetryable() {
        server.setBehavior { _ in .hang }
        let client = BluejayClient(endpoint: endpoint(server), maxConcurrent: 2)
        let box = OutcomeBox()
        let done = expectation(description: "all complete")
        done.expectedFulfillmentCount = 5
        for i in 0..<5 {
            client.post(body: Array("{\"n\":\(i)}".utf8)) { outcome in
                box.append(outcome)
                done.fulfill()
            }
        }
        XCTAssertTrue(waitUntil { self.server.requests.count == 2 }, "two transfers in flight")
        client.shutdown(graceMs: 200)
        wait(for: [done], timeout: 10)
        XCTAssertEqual(box.outcomes, Array(repeating: shutdownOutcome, count: 5))
    }

    func testShutdownLetsInFlightTransfersFinishWithinGrace() {
        server.setBehavior { _ in .respondAfter(ms: 300, status: 200) }
        let client = BluejayClient(endpoint: endpoint(server))
        let box = OutcomeBox()
        let done = expectation(description: "completes")
        client.post(body: Array("{}".utf8)) { outcome in
            box.append(outcome)
            done.fulfill()
        }
        XCTAssertTrue(waitUntil { self.server.requests.count == 1 })
        client.shutdown(graceMs: 5_000)
        wait(for: [done], timeout: 10)
        XCTAssertEqual(box.outcomes, [.delivered(status: 200)])
    }

    func testPostAfterShutdownCompletesAtOnce() {
        let client = BluejayClient(endpoint: endpoint(server))
        client.shutdown()
        client.shutdown() // idempotent
        let box = OutcomeBox()
        client.post(body: Array("{}".utf8)) { box.append($0) }
        XCTAssertEqual(box.outcomes, [shutdownOutcome])
        XCTAssertEqual(server.requests.count, 0)
    }

    func testShutdownFromACompletionDoesNotDeadlock() {
        let client = BluejayClient(endpoint: endpoint(server))
        let done = expectation(description: "completion returned")
        client.post(body: Array("{}".utf8)) { _ in
            client.shutdown()
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        client.shutdown()
    }
}
