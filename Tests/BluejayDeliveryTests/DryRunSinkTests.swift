import BluejayDelivery
import Foundation
import XCTest

final class DryRunSinkTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "dryrun-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func testWritesBodyExactlyUnderTheDocumentedName() throws {
        let sink = try DryRunSink(directory: root + "/out")
        let body = Array(#"{"simulation_result_id":"sr/1 ü"}"#.utf8) + [0, 255]
        let path = try sink.write(outboxID: 42, simulationResultID: "sr/1 ü", body: body)
        XCTAssertEqual(path, root + "/out/000000000042-sr_1__.json")
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), body)
    }

    func testNameSanitisesAndTruncatesTheID() {
        XCTAssertEqual(DryRunSink.fileName(outboxID: 7, simulationResultID: "abc-DEF_1.2"), "000000000007-abc-DEF_1.2.json")
        XCTAssertEqual(DryRunSink.fileName(outboxID: 123_456_789_012, simulationResultID: "../x"), "123456789012-.._x.json")
        let long = DryRunSink.fileName(outboxID: 1, simulationResultID: String(repeating: "a", count: 300))
        XCTAssertEqual(long, "000000000001-" + String(repeating: "a", count: 100) + ".json")
    }

    func testLeavesNoTempFilesAndReplacesOnRewrite() throws {
        let sink = try DryRunSink(directory: root)
        _ = try sink.write(outboxID: 1, simulationResultID: "a", body: Array("one".utf8))
        _ = try sink.write(outboxID: 2, simulationResultID: "b", body: [])
        let path = try sink.write(outboxID: 1, simulationResultID: "a", body: Array("two".utf8))
        let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        XCTAssertEqual(names, ["000000000001-a.json", "000000000002-b.json"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "two")
    }

    func testCreatesMissingDirectoryWithMode0750() throws {
        let dir = root + "/a/b"
        _ = try DryRunSink(directory: dir)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o750)
    }

    func testUnwritableDirectoryThrowsNamingThePath() throws {
        // Root ignores permission bits, so make the path impossible instead: a directory under a regular file.
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let file = root + "/plain-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let dir = file + "/sink"
        XCTAssertThrowsError(try DryRunSink(directory: dir)) { error in
            XCTAssertTrue(String(describing: error).contains(dir), "\(error)")
        }
        XCTAssertThrowsError(try DryRunSink(directory: file)) { error in
            XCTAssertTrue(String(describing: error).contains(file), "\(error)")
        }
    }
}
