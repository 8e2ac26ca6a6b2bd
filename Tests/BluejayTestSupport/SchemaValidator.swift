import Foundation

/// Validates JSON text against Bluejay's published schemas with python3 + jsonschema.
/// The schema must be found: a missing schema is a failure, never a skip.
public enum SchemaValidator {
    public static let schemaName = "update-simulation-result.request.schema.json"

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// `$BLUEJAY_SHARED_DIR` (the `shared/bluejay` folder, or its parent), else `shared/bluejay`
    /// in the nearest ancestor of this file (the repo lives beside `shared/`).
    public static func schemaURL() throws -> URL {
        try schemaURL(named: schemaName)
    }

    /// The same search for any schema file in `shared/bluejay` (e.g. `events-webhook.schema.json`).
    public static func schemaURL(named name: String) throws -> URL {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["BLUEJAY_SHARED_DIR"], !dir.isEmpty {
            for candidate in [URL(fileURLWithPath: dir).appendingPathComponent(name),
                              URL(fileURLWithPath: dir).appendingPathComponent("bluejay").appendingPathComponent(name)]
            where fm.fileExists(atPath: candidate.path) { return candidate }
            throw Failure(description: "BLUEJAY_SHARED_DIR=\(dir) holds no \(name)")
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("shared/bluejay").appendingPathComponent(name)
            if fm.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw Failure(description: "cannot find shared/bluejay/\(name) above \(#filePath); set BLUEJAY_SHARED_DIR")
    }

    /// Validates against the update-simulation-result request schema.
    public static func validate(body: String) throws {
        try validate(body: body, schemaName: schemaName)
    }

    /// Validates against `schemaName` (a file in `shared/bluejay`); throws `Failure` when invalid.
    public static func validate(body: String, schemaName: String) throws {
        if let reason = try violations(bodies: [body], schemaName: schemaName)[0] {
            throw Failure(description: "schema validation failed: \(reason)")
        }
    }

    /// One python run for many bodies: for each, nil when valid, else jsonschema's reason.
    /// Throws (rather than reporting "invalid") when python, jsonschema or the schema is unusable,
    /// so a broken toolchain can never pass for agreement on a rejected body.
    public static func violations(bodies: [String], schemaName: String) throws -> [String?] {
        let schema = try schemaURL(named: schemaName)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bluejay-bodies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (n, body) in bodies.enumerated() {
            let url = dir.appendingPathComponent("\(n).json")
            try Data(body.utf8).write(to: url)
            paths.append(url.path)
        }
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:]:
                # best_match is what jsonschema.validate raises: it looks inside anyOf for the real cause.
                e = jsonschema.exceptions.best_match(v.iter_errors(json.load(open(path))))
                print(json.dumps(None if e is None else "/".join(map(str, e.absolute_path)) + ": " + e.message[:300]))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, schema.path] + paths
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure(description: "python3 jsonschema failed (\(p.terminationStatus)): \(String(decoding: stderr.suffix(2000), as: UTF8.self))")
        }
        let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n")
        guard lines.count == bodies.count else {
            throw Failure(description: "python3 jsonschema printed \(lines.count) results for \(bodies.count) bodies")
        }
        return try lines.map { line in
            let v = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
            return v as? String
        }
    }
}
