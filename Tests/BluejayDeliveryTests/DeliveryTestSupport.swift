import BluejayDelivery
import BluejayTestSupport
import Foundation
import XCTest

/// Shared bits for client tests: a secret-looking key and a bounded wait for one outcome.
enum TestKey {
    static let apiKey = "bj-test-key-5f1c9a7e-SECRET"
}

final class OutcomeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [DeliveryOutcome] = []
    private var threads: [String?] = []
    private var kernelThreads: [String?] = []

    func append(_ outcome: DeliveryOutcome) {
        let name = Thread.current.name
        let kernelName = kernelThreadName()
        lock.withLock {
            values.append(outcome)
            threads.append(name)
            kernelThreads.append(kernelName)
        }
    }

    var outcomes: [DeliveryOutcome] { lock.withLock { values } }
    var threadNames: [String?] { lock.withLock { threads } }
    /// As `top -H`, a profile and the benchmark see them (`/proc/thread-self/comm`).
    var kernelThreadNames: [String?] { lock.withLock { kernelThreads } }
}

extension XCTestCase {
    /// Posts one body and waits (at most `timeout` seconds) for its outcome.
    func postAndWait(_ client: BluejayClient, _ body: [UInt8], timeout: TimeInterval = 10,
                     file: StaticString = #filePath, line: UInt = #line) -> DeliveryOutcome? {
        let done = expectation(description: "post completes")
        let box = OutcomeBox()
        client.post(body: body) { outcome in
            box.append(outcome)
            done.fulfill()
        }
        wait(for: [done], timeout: timeout)
        XCTAssertEqual(box.outcomes.count, 1, "completion must run exactly once", file: file, line: line)
        return box.outcomes.first
    }

    /// Polls `condition` every 10 ms for at most `timeout` seconds.
    func waitUntil(timeout: TimeInterval = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func endpoint(_ server: TestHTTPServer, timeoutMs: Int = 10_000) -> BluejayEndpoint {
        BluejayEndpoint(baseURL: server.baseURL, apiKey: TestKey.apiKey, timeoutMs: timeoutMs)
    }
}

extension DeliveryOutcome {
    /// All human-readable text an outcome carries (reason or body).
    var text: String {
        switch self {
        case .delivered: return ""
        case .retryable(let reason, _, _): return reason
        case .rejected(_, let body): return body
        }
    }

    var isRetryable: Bool {
        if case .retryable = self { return true }
        return false
    }
}
