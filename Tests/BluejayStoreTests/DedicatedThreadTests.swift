import Foundation
import XCTest
@testable import BluejayStore
import BluejayTestSupport

/// The sidecar's threads carry their names for the kernel (`top -H`, profiles, the benchmark) and for Foundation.
final class DedicatedThreadTests: XCTestCase {
    private final class Seen: @unchecked Sendable {
        let lock = NSLock()
        var names: [(kernel: String?, foundation: String?)] = []
    }

    func testEveryThreadNamesItselfBeforeItsBodyRuns() {
        let seen = Seen()
        let group = DispatchGroup()
        for i in 0..<200 {
            group.enter()
            DedicatedThread.make(name: "bj-test-\(i)") {
                let kernel = kernelThreadName()
                let foundation = Thread.current.name
                seen.lock.withLock { seen.names.append((kernel, foundation)) }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        let names = seen.lock.withLock { seen.names }
        XCTAssertEqual(Set(names.map(\.kernel)), Set((0..<200).map { "bj-test-\($0)" }))
        XCTAssertEqual(Set(names.map(\.foundation)), Set((0..<200).map { "bj-test-\($0)" }))
    }
}
