import BluejaySidecarClient
import Foundation
import Logging
import XCTest

/// Against the real sidecar binary: records reach the dry-run body, survive a `kill -9` and restart, and
/// enqueueing never blocks while the sidecar is away.
final class SidecarClientTests: XCTestCase {
    var sidecar: SidecarProcess!

    override func setUpWithError() throws { sidecar = try SidecarProcess() }
    override func tearDown() { sidecar?.cleanUp() }

    private func client(queueLimit: Int = 10_000, logLevel: Logger.Level = .info) -> BluejaySidecarClient {
        var logger = Logger(label: "bluejay-sidecar-client-test")
        logger.logLevel = logLevel
        return BluejaySidecarClient(socketPath: sidecar.socketPath, queueLimit: queueLimit,
                                    reconnectInitial: .milliseconds(10), reconnectMax: .milliseconds(100), logger: logger)
    }

    func testStartToolCallsAndEndReachTheDryRunBody() async throws {
        try sidecar.start()
        let client = client()
        let sim = "sr-\(UUID().uuidString.prefix(8))"
        let started = await client.start(simulationResultID: sim)
        XCTAssertTrue(started.ok, "\(started.body.jsonString)")
        XCTAssertEqual(started.simulationResultID, sim)
        XCTAssertEqual(started.state, "active")
        XCTAssertNotNil(started.callID)
        let call = CallRef.simulationResultID(sim)

        let r1 = await client.toolCall("lookup_order", call: call, parameters: ["order_id": "A1"], output: ["status": "shipped"])
        XCTAssertTrue(r1.ok, "\(r1.body.jsonString)")
        client.enqueue(.toolCall("refund", call: call, parameters: ["order_id": "A1", "cents": 500],
                                 output: ["error": "RuntimeError: too late"], description: "failed"))
        let r3 = await client.metadata(["tier": "gold"], call: call)
        XCTAssertTrue(r3.ok)
        let looked = await client.lookup(call: call)
        XCTAssertEqual(looked.callID, started.callID)
        let ended = await client.end(call: call)
        XCTAssertTrue(ended.ok, "\(ended.body.jsonString)")
        await client.shutdown()

        let body = try sidecar.body(for: sim)
        let tools = try XCTUnwrap(body["tool_calls"] as? [[String: Any]])
        XCTAssertEqual(tools.map { $0["name"] as? String }, ["lookup_order", "refund"])
        XCTAssertEqual(tools[0]["parameters"] as? [String: String], ["order_id": "A1"])
        XCTAssertEqual(tools[0]["output"] as? [String: String], ["status": "shipped"])
        XCTAssertEqual(tools[1]["output"] as? [String: String], ["error": "RuntimeError: too late"])
        XCTAssertEqual((body["metadata"] as? [String: Any])?["tier"] as? String, "gold")
    }

    func testErrorRepliesAreValuesNotThrows() async throws {
        try sidecar.start()
        let client = client()
        let reply = await client.toolCall("x", call: .callID("no-such-call"))
        XCTAssertFalse(reply.ok)
        XCTAssertEqual(reply.error, "unknown_call")
        await client.shutdown()
        let late = await client.lookup(call: .callID("x"))
        XCTAssertEqual(late.error, "client_closed")
    }

    func testKill9AndRestartDeliversQueuedRecords() async throws {
        try sidecar.start()
        let sim = "sr-\(UUID().uuidString.prefix(8))"
        let sip = try SIPCaller(port: sidecar.sipPort, simulationResultID: sim)
        let client = client()
        let call = CallRef.simulationResultID(sim)
        let before = ReplyCollector()
        // A burst, killed mid-way: some lines are acknowledged, some in flight (resent later), some still queued.
        for i in 0..<2000 {
            client.enqueue(.toolCall("before\(i)", call: call)) { before.add($0) }
        }
        let deadline = Date().addingTimeInterval(10)
        while before.all.isEmpty && Date() < deadline { usleep(1000) }
        sidecar.kill9()
        let ackedBeforeKill = before.all.count
        XCTAssertGreaterThan(ackedBeforeKill, 0)

        let during = ReplyCollector()
        let t0 = Date()
        for i in 0..<500 {
            client.enqueue(.toolCall("during\(i)", call: call, parameters: ["i": .int(i)])) { during.add($0) }
        }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 1.0, "enqueue must not wait for the sidecar")
        let flushedWhileDown = await client.flush(timeout: .milliseconds(200))
        XCTAssertFalse(flushedWhileDown)
        try sidecar.start()
        let flushed = await client.flush(timeout: .seconds(30))
        XCTAssertTrue(flushed)
        let replies = before.all + during.all
        XCTAssertEqual(replies.count, 2500)
        XCTAssertTrue(replies.allSatisfy(\.ok), "\(replies.first { !$0.ok }?.body.jsonString ?? "")")
        let stats = await client.stats()
        XCTAssertGreaterThanOrEqual(stats.connects, 2)
        XCTAssertEqual(stats.unacknowledged, 0)
        _ = await client.end(call: call)
        await client.shutdown()
        sip.bye()

        let names = try XCTUnwrap(try sidecar.body(for: sim)["tool_calls"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        let expected = (0..<2000).map { "before\($0)" } + (0..<500).map { "during\($0)" }
        // At least once: every record arrives, in order of first appearance; only resent lines may repeat.
        var seen = Set<String>()
        XCTAssertEqual(names.filter { seen.insert($0).inserted }, expected)
        XCTAssertLessThanOrEqual(names.count - expected.count, stats.resent)
    }

    func testEnqueueNeverBlocksAndTheQueueIsBounded() async throws {
        // No sidecar yet: everything waits locally, and only the newest `queueLimit` records survive.
        let client = client(queueLimit: 100, logLevel: .error)  // 100 unknown_call warnings are expected
        let replies = ReplyCollector()
        let t0 = Date()
        for i in 0..<20_000 {
            client.enqueue(.toolCall("t\(i)", call: .callID("c"))) { replies.add($0) }
        }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 2.0)
        var stats = await client.stats()
        XCTAssertEqual(stats.dropped, 19_900)
        XCTAssertEqual(stats.unacknowledged, 100)
        XCTAssertEqual(replies.all.count, 19_900)
        XCTAssertTrue(replies.all.allSatisfy { $0.error == "queue_full" })

        try sidecar.start()
        let flushed = await client.flush(timeout: .seconds(20))
        XCTAssertTrue(flushed)
        stats = await client.stats()
        XCTAssertEqual(stats.unacknowledged, 0)
        // The survivors reached the sidecar, which answered them (the call is unknown to it).
        XCTAssertEqual(replies.all.count, 20_000)
        XCTAssertEqual(replies.all.suffix(100).map(\.error), Array(repeating: "unknown_call", count: 100))
        await client.shutdown()
    }
}

/// Collects replies delivered on the client's event loop.
final class ReplyCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var replies: [AgentReply] = []

    func add(_ r: AgentReply) { lock.lock(); replies.append(r); lock.unlock() }
    var all: [AgentReply] { lock.lock(); defer { lock.unlock() }; return replies }
}
