import XCTest
@testable import BluejayStore

/// A fresh directory per test for a store, and a call to put in it.
class StoreTestCase: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = NSTemporaryDirectory() + "bluejay-store-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func call(_ id: String) -> StoredCall {
        StoredCall(callID: id, simulationResultID: "sim-\(id)", fromHeader: "<sip:a@x>;tag=1", toHeader: "<sip:b@y>",
                   localTag: "lt", remoteTag: "1", invitedAtMs: 1_000, answeredAtMs: 1_100, state: .active,
                   sipHeadersJSON: Array(#"{"X-A":"1"}"#.utf8))
    }
}
