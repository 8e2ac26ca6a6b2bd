import BluejayCalls
import XCTest

final class CallRegistryTests: XCTestCase {
    /// Bluejay can place a second call for the same simulation result (a retry). A line naming only the
    /// simulation result id goes to the latest call, even when the earlier one is updated afterwards (its BYE,
    /// a record acknowledged for it).
    func testAnUpdateOfAnEarlierCallKeepsTheIdOnTheLatestCall() {
        let registry = CallRegistry()
        registry.upsert(CallEntry(callID: "first", simulationResultID: "sim-1", state: .active, invitedAtMs: 1))
        registry.upsert(CallEntry(callID: "second", simulationResultID: "sim-1", state: .ringing, invitedAtMs: 2))

        XCTAssertEqual(registry.update("first") { $0.state = .ended; $0.endedAtMs = 3 }?.state, .ended)
        registry.update("first") { $0.recordCount += 1 }

        XCTAssertEqual(registry.resolve(callID: nil, simulationResultID: "sim-1")?.callID, "second")
        XCTAssertEqual(registry.entry("first")?.recordCount, 1)
        XCTAssertEqual(registry.entry("first")?.endedAtMs, 3)
    }

    /// A call that learns its simulation result id later (from the agent) is found by it from then on.
    func testACallNamedByAnUpdateIsFoundByItsNewId() {
        let registry = CallRegistry()
        registry.upsert(CallEntry(callID: "c", simulationResultID: nil, state: .active, invitedAtMs: 1))
        XCTAssertNil(registry.resolve(callID: nil, simulationResultID: "sim-2"))

        registry.update("c") { $0.simulationResultID = "sim-2" }

        XCTAssertEqual(registry.resolve(callID: nil, simulationResultID: "sim-2")?.callID, "c")
    }

    func testUpdateOfAnUnknownCallChangesNothing() {
        let registry = CallRegistry()
        XCTAssertNil(registry.update("nobody") { $0.recordCount += 1 })
        XCTAssertEqual(registry.count, 0)
    }

    /// Flushes are counted once per call, and only the last `flushedRetention` flushed calls are remembered.
    func testFlushesAreCountedOnceAndRetentionIsBounded() {
        let registry = CallRegistry(flushedRetention: 2)
        for id in ["a", "b", "c"] {
            registry.upsert(CallEntry(callID: id, simulationResultID: "sim-\(id)", state: .ended, invitedAtMs: 1))
            registry.update(id) { $0.flushed = true }
            registry.update(id) { $0.flushed = true }
        }

        XCTAssertEqual(registry.flushCount, 3)
        XCTAssertNil(registry.entry("a"))
        XCTAssertNil(registry.resolve(callID: nil, simulationResultID: "sim-a"))
        registry.upsert(CallEntry(callID: "d", simulationResultID: nil, state: .active, invitedAtMs: 2))
        // Forgotten ("a", past the retention; "ghost", never there) takes no records either.
        XCTAssertEqual(registry.closedAmong(["a", "b", "c", "d", "ghost"]), ["a", "b", "c", "ghost"])
    }

    /// A call whose first write failed is forgotten: found by neither name, and batches look again.
    func testARemovedCallIsGoneByBothNamesAndCountsForBatches() {
        let registry = CallRegistry()
        registry.upsert(CallEntry(callID: "c", simulationResultID: "sim-c", state: .active, invitedAtMs: 1))
        let before = registry.flushCount
        registry.remove("c")
        XCTAssertNil(registry.resolve(callID: "c", simulationResultID: nil))
        XCTAssertNil(registry.resolve(callID: nil, simulationResultID: "sim-c"))
        XCTAssertEqual(registry.flushCount, before + 1)
        XCTAssertEqual(registry.closedAmong(["c"]), ["c"])
    }
}
