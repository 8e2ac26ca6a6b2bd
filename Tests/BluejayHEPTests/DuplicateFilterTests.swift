import XCTest
@testable import BluejayHEP

final class DuplicateFilterTests: XCTestCase {
    func msg(_ i: Int) -> [UInt8] { Array("SIP/2.0 200 OK\r\nCall-ID: c\(i)@x\r\nCSeq: 1 INVITE\r\n\r\n".utf8) }

    func testWindow() {
        var f = DuplicateFilter(windowMs: 2_000)
        XCTAssertTrue(f.firstSighting(msg(1), nowMs: 10_000))
        XCTAssertFalse(f.firstSighting(msg(1), nowMs: 10_000))
        XCTAssertTrue(f.firstSighting(msg(2), nowMs: 10_001))
        XCTAssertFalse(f.firstSighting(msg(1), nowMs: 11_999))
        // The window runs from the first sighting: the copy at 11 999 did not extend it.
        XCTAssertTrue(f.firstSighting(msg(1), nowMs: 12_000))
        XCTAssertFalse(f.firstSighting(msg(2), nowMs: 12_000))
        XCTAssertTrue(f.firstSighting(msg(2), nowMs: 12_001))
        XCTAssertFalse(f.firstSighting(msg(1), nowMs: 13_000))
        XCTAssertTrue(f.firstSighting(msg(1), nowMs: 14_000))
    }

    func testDefaultsAndEmptyPayload() {
        var f = DuplicateFilter()
        XCTAssertEqual(f.windowMs, 2_000)
        XCTAssertEqual(f.capacity, 100_000)
        XCTAssertTrue(f.firstSighting([], nowMs: 0))
        XCTAssertFalse(f.firstSighting([], nowMs: 1))
    }

    func testDistinctMessagesWithSameHeadersAreNotMerged() {
        // Forked 200s: same Call-ID, CSeq and Via branch, different To-tags.
        let a = Array("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@x>;tag=A\r\nCall-ID: c@x\r\nCSeq: 1 INVITE\r\n\r\n".utf8)
        let b = Array("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@x>;tag=B\r\nCall-ID: c@x\r\nCSeq: 1 INVITE\r\n\r\n".utf8)
        var f = DuplicateFilter()
        XCTAssertTrue(f.firstSighting(a, nowMs: 0))
        XCTAssertTrue(f.firstSighting(b, nowMs: 0))
        XCTAssertFalse(f.firstSighting(b, nowMs: 1))
        // One byte apart, or a prefix: different.
        XCTAssertTrue(f.firstSighting(Array(a.dropLast()), nowMs: 1))
        var c = a
        c[0] = 0x73
        XCTAssertTrue(f.firstSighting(c, nowMs: 1))
    }

    func testCapacityForgetsOldestFirst() {
        var f = DuplicateFilter(windowMs: 60_000, capacity: 3)
        for i in 1 ... 4 { XCTAssertTrue(f.firstSighting(msg(i), nowMs: Int64(i))) }
        XCTAssertEqual(f.count, 3)
        XCTAssertTrue(f.firstSighting(msg(1), nowMs: 10), "oldest forgotten beyond capacity")
        XCTAssertFalse(f.firstSighting(msg(4), nowMs: 10))
        XCTAssertFalse(f.firstSighting(msg(1), nowMs: 11))
        XCTAssertEqual(f.count, 3)
    }

    func testBoundedUnderLoadAndExpiry() {
        var f = DuplicateFilter(windowMs: 2_000, capacity: 1_000)
        for i in 0 ..< 50_000 {
            XCTAssertTrue(f.firstSighting(msg(i), nowMs: 1_000_000))
            XCTAssertLessThanOrEqual(f.count, 1_000)
        }
        XCTAssertEqual(f.count, 1_000)
        f.expire(nowMs: 1_002_000)
        XCTAssertEqual(f.count, 0)
        // Steady traffic: each message once per ms; memory holds ~one window.
        var g = DuplicateFilter(windowMs: 100, capacity: 100_000)
        for t in 0 ..< 20_000 {
            XCTAssertTrue(g.firstSighting(msg(t), nowMs: Int64(t)))
            XCTAssertFalse(g.firstSighting(msg(t), nowMs: Int64(t)))
        }
        XCTAssertLessThanOrEqual(g.count, 101)
    }

    func testClockGoingBackwards() {
        var f = DuplicateFilter(windowMs: 2_000)
        XCTAssertTrue(f.firstSighting(msg(1), nowMs: 5_000))
        XCTAssertFalse(f.firstSighting(msg(1), nowMs: 1_000), "an earlier clock reading is still inside the window")
        XCTAssertTrue(f.firstSighting(msg(1), nowMs: 7_000))
    }
}
