import Foundation

/// Validates JSON text against Bluejay's published request schema with python3 + jsonschema.
/// The schema must be found: a missing schema is a failure, never a skip.
public enum SchemaValidator {
    public static let schemaName = "update-simulation-result.request.schema.json"

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// `$BLUEJAY_SHARED_DIR` (the `shared/bluejay` folder, or its parent), else `shared/bluejay`
    /// in the nearest ancestor of this file (the repo lives beside `shared/`).
    public static func schemaURL() throws -> URL {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["BLUEJAY_SHARED_DIR"], !dir.isEmpty {
            for candidate in [URL(fileURLWithPath: dir).appendingPathComponent(schemaName),
                              URL(fileURLWithPath: dir).appendingPathComponent("bluejay").appendingPathComponent(schemaName)]
            where fm.fileExists(atPath: candidate.path) { return candidate }
            throw Failure(description: "BLUEJAY_SHARED_DIR=\(dir) holds no \(schemaName)")
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("shared/bluejay").appendingPathComponent(schemaName)
            if fm.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw Failure(description: "cannot find shared/bluejay/\(schemaName) above \(#filePath); set BLUEJAY_SHARED_DIR")
    }

    public static func validate(body: String) throws {
        let schema = try schemaURL()
        let bodyURL = FileManager.default.temporaryDirectory.appendingPathComponent("bluejay-body-\(UUID().uuidString).json")
        try Data(body.utf8).write(to: bodyURL)
        defer { try? FileManager.default.removeItem(at: bodyURL) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c",
                       "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))",
                       schema.path, bodyURL.path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure(description: "schema validation failed (\(p.terminationStatus)): \(String(decoding: stderr.suffix(2000), as: UTF8.self))")
        }
    }
}
