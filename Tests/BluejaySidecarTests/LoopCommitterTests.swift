@testable import BluejayStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import XCTest
@testable import BluejaySidecar

/// The SIP loop's commits on the loop itself (`LoopCommitter`), and the order of completions reaching the loop
/// (`LoopHandoff`), on a real event loop and a real store.
final class LoopCommitterTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    private var loop: EventLoop!
    private var writer: StoreWriter!
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "bj-loopcommit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        writer = try StoreWriter(path: dir + "/store.sqlite", logger: Logger(label: "t"))
        // The log's length is known from the first commit on; before it, nothing commits on a loop.
        try writer.perform { db in try Ledger.upsert(self.call("warm-up"), in: db) }
    }

    override func tearDownWithError() throws {
        writer.close()
        try group.syncShutdownGracefully()
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func call(_ id: String) -> StoredCall {
        StoredCall(callID: id, simulationResultID: "sim-\(id)", fromHeader: "<sip:a@h>", toHeader: "<sip:b@h>", localTag: "t",
                   remoteTag: nil, invitedAtMs: 1, answeredAtMs: nil, endedAtMs: nil, endedBy: nil, endReason: nil,
                   state: .ringing, sipHeadersJSON: Array("{}".utf8), flushState: .open)
    }

    /// Submits an upsert from the loop; returns whether its completion ran on the loop.
    private func submitFromLoop(_ committer: LoopCommitter, _ id: String, _ durability: StoreWriter.Durability) throws -> Bool {
        let done = loop.makePromise(of: Bool.self)
        let loop = self.loop!
        loop.execute {
            committer.submit({ db in try Ledger.upsert(self.call(id), in: db) }, singleStatement: true, durability: durability) { error in
                if let error { done.fail(error) } else { done.succeed(loop.inEventLoop) }
            }
        }
        return try done.futureResult.wait()
    }

    /// An idle store: the loop's `written` call state commits on the loop, the writer thread is not woken for
    /// it (only, later, for the sync), and the row is there for another connection.
    func testWrittenStateFromTheLoopCommitsOnTheLoopWhenIdle() throws {
        let committer = LoopCommitter(writer: writer, loop: loop)
        usleep(UInt32(StoreWriter.idleCommitMs * 3_000))
        let deadline = Date().addingTimeInterval(5)
        while !writer.isAsleep && Date() < deadline { usleep(1_000) }
        let sleeps = writer.sleeps
        XCTAssertTrue(try submitFromLoop(committer, "idle", .written))
        // The wake-up that learns of the unsynced commit, the sync's, and room for a spurious one.
        XCTAssertLessThanOrEqual(writer.sleeps - sleeps, 3)
        XCTAssertNotNil(try Ledger.call("idle", in: StoreReader(path: dir + "/store.sqlite").db))
    }

    /// What must be on disk is never committed (synced) on the loop.
    func testOnDiskFromTheLoopCommitsOnTheWriterThread() throws {
        let committer = LoopCommitter(writer: writer, loop: loop)
        usleep(UInt32(StoreWriter.idleCommitMs * 3_000))
        XCTAssertFalse(try submitFromLoop(committer, "disk", .onDisk))
    }

    /// A completion made on the loop waits behind one the writer thread handed over first: items run in the
    /// order they were handed.
    func testHandoffKeepsOrderWhenWorkOnTheLoopFollowsAHop() throws {
        let handoff = LoopHandoff(loop: loop)
        let order = LoopOnly()
        let handed = DispatchSemaphore(value: 0)
        let finished = loop.makePromise(of: Void.self)
        // The loop is busy in this task while another thread hands "first" over; then the loop hands "second".
        loop.execute {
            handed.wait()
            handoff.run { order.items.append("second") }
            order.items.append("task")
        }
        DispatchQueue.global().async {
            handoff.run { order.items.append("first") }
            handed.signal()
        }
        // Behind the hop that runs "first" and "second".
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { self.loop.execute { finished.succeed(()) } }
        try finished.futureResult.wait()
        XCTAssertEqual(try loop.submit { order.items }.wait(), ["task", "first", "second"])
    }

    /// Work handed on the loop by an item of a drain runs after the drain's other items.
    func testHandoffKeepsOrderWhenAnItemHandsWorkOnTheLoop() throws {
        let handoff = LoopHandoff(loop: loop)
        let order = LoopOnly()
        let handed = DispatchSemaphore(value: 0)
        loop.execute { handed.wait() } // both items below go in one drain
        handoff.run {
            order.items.append("first")
            handoff.run { order.items.append("handed by first") }
        }
        handoff.run { order.items.append("second") }
        handed.signal()
        let finished = loop.makePromise(of: Void.self)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { self.loop.execute { finished.succeed(()) } }
        try finished.futureResult.wait()
        XCTAssertEqual(try loop.submit { order.items }.wait(), ["first", "second", "handed by first"])
    }

    /// Nothing waiting: work handed on the loop runs at once.
    func testHandoffOnTheLoopRunsAtOnceWhenNothingWaits() throws {
        let handoff = LoopHandoff(loop: loop)
        let ran = try loop.submit { () -> Bool in
            let ran = LoopOnly()
            handoff.run { ran.items.append("ran") }
            return ran.items == ["ran"]
        }.wait()
        XCTAssertTrue(ran)
    }
}

/// State the tests touch on the loop only.
private final class LoopOnly: @unchecked Sendable {
    var items: [String] = []
}
