import BluejayDelivery
import BluejayStore
import Foundation
import Logging
import XCTest

/// The worker's two ways to a body: handed over by the flush's commit (`enqueued`), or found by the outbox
/// thread's read. Whichever way, each body is posted once and its row ends delivered.
final class DeliveryWorkerTests: XCTestCase {
    private var dir: String!
    private var writer: StoreWriter!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "bluejay-delivery-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        writer = try StoreWriter(path: dir + "/store.db", logger: Logger(label: "test"))
    }

    override func tearDown() {
        writer.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Writes a pending row as the flush does and returns what the flush hands over.
    private func enqueue(_ n: Int) throws -> Outbox.Item {
        let body = Array(#"{"n":\#(n)}"#.utf8)
        var item: Outbox.Item?
        try writer.perform { db in item = try Outbox.enqueue(callID: "call-\(n)", simulationResultID: "sim-\(n)", body: body, nowMs: 0, in: db) }
        return item!
    }

    private func delivered() throws -> Int {
        let reader = try StoreReader(path: dir + "/store.db")
        return try Outbox.count(state: .delivered, in: reader.db)
    }

    private func worker(_ target: DeliveryTarget, maxInFlight: Int) throws -> DeliveryWorker {
        let worker = DeliveryWorker(writer: writer, storePath: dir + "/store.db", target: target, policy: RetryPolicy(),
                                    maxInFlight: maxInFlight, logger: Logger(label: "test"))
        try worker.start()
        return worker
    }

    /// Handed-over bodies race the outbox thread's reads (woken after every row, with few slots so both ways
    /// post): none is posted twice, none is missed.
    func testHandedOverBodiesArePostedOnceWhileTheOutboxThreadReads() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let client = BluejayClient(endpoint: endpoint(server), maxConcurrent: 4)
        let worker = try worker(.bluejay(client), maxInFlight: 4)
        let count = 300
        for n in 0..<count {
            let item = try enqueue(n)
            worker.wake()
            worker.enqueued(item)
        }
        XCTAssertTrue(waitUntil(timeout: 20) { (try? self.delivered()) == count }, "delivered rows: \(String(describing: try? delivered()))")
        usleep(300_000) // a duplicate would be a late post: give it time to show
        let bodies = server.requests.map { String(decoding: $0.body, as: UTF8.self) }
        XCTAssertEqual(bodies.count, count, "posts")
        XCTAssertEqual(Set(bodies).count, count, "distinct bodies")
        XCTAssertEqual(worker.delivered, count)
        worker.stop(graceMs: 1_000)
    }

    /// With its one slot taken by a slow post, a handed-over body waits for the outbox thread, which posts it
    /// once the slot is free.
    func testHandedOverBodyWaitsForAFreeSlot() throws {
        let server = try TestHTTPServer { _ in .respondAfter(ms: 300, status: 200) }
        defer { server.stop() }
        let client = BluejayClient(endpoint: endpoint(server), maxConcurrent: 1)
        let worker = try worker(.bluejay(client), maxInFlight: 1)
        let first = try enqueue(1), second = try enqueue(2)
        worker.enqueued(first)
        worker.enqueued(second)
        XCTAssertTrue(waitUntil(timeout: 10) { (try? self.delivered()) == 2 })
        usleep(300_000)
        XCTAssertEqual(server.requests.map { String(decoding: $0.body, as: UTF8.self) }.sorted(), [#"{"n":1}"#, #"{"n":2}"#])
        worker.stop(graceMs: 1_000)
    }

    /// The store refuses to record a delivery (disk full, read-only; here a trigger): the row still reads
    /// pending and due, but the body is not posted again, and its outcome is kept once the store takes it.
    func testAnOutcomeTheStoreRefusesIsKeptLaterAndTheBodyIsNotPostedAgain() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let client = BluejayClient(endpoint: endpoint(server), maxConcurrent: 4)
        try writer.perform { db in
            try db.execute("CREATE TRIGGER refuse_outcomes BEFORE UPDATE ON outbox BEGIN SELECT RAISE(ABORT, 'refused'); END")
        }
        let worker = try worker(.bluejay(client), maxInFlight: 4)
        worker.enqueued(try enqueue(1))
        XCTAssertTrue(waitUntil(timeout: 10) { server.requests.count == 1 })
        usleep(2_500_000) // the outbox thread looks at least once a second: two looks or more at a due row
        XCTAssertEqual(server.requests.count, 1, "posted again while its outcome was not kept")
        XCTAssertEqual(try delivered(), 0)
        try writer.perform { db in try db.execute("DROP TRIGGER refuse_outcomes") }
        XCTAssertTrue(waitUntil(timeout: 10) { (try? self.delivered()) == 1 }, "the outcome is kept once the store takes it")
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertEqual(worker.delivered, 1)
        worker.stop(graceMs: 1_000)
    }

    /// Dry-run writes files, which the thread handing the body over (the store writer's) must not do: the body
    /// goes through the outbox thread, and is written and marked delivered all the same.
    func testDryRunBodiesGoThroughTheOutboxThread() throws {
        let sink = try DryRunSink(directory: dir + "/dry-run")
        let worker = try worker(.dryRun(sink), maxInFlight: 4)
        let item = try enqueue(7)
        worker.enqueued(item)
        XCTAssertTrue(waitUntil(timeout: 10) { (try? self.delivered()) == 1 })
        let file = dir + "/dry-run/" + DryRunSink.fileName(outboxID: item.id, simulationResultID: item.simulationResultID)
        XCTAssertEqual(FileManager.default.contents(atPath: file).map { Array($0) }, item.body)
        worker.stop(graceMs: 1_000)
    }
}
