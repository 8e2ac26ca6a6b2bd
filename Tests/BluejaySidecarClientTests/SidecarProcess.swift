import Foundation
import XCTest

/// The real bluejay-sidecar binary, started on a free UDP port with its own socket and data dir (dry-run),
/// and killed / restarted with the same ones. The binary is `SIDECAR_BIN`, else `.build/debug/bluejay-sidecar`
/// under the package root found from this file (symlinks resolved, so a scratch package works too).
final class SidecarProcess {
    let binary: URL
    let workdir: URL
    let socketPath: String
    let sipPort: UInt16
    var dataDir: URL { workdir.appendingPathComponent("d") }
    var dryRunDir: URL { dataDir.appendingPathComponent("dry-run") }
    private var process: Process?
    private let stderrURL: URL

    static func binaryURL() -> URL {
        if let env = ProcessInfo.processInfo.environment["SIDECAR_BIN"], !env.isEmpty { return URL(fileURLWithPath: env) }
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/bluejay-sidecar")
    }

    init() throws {
        binary = Self.binaryURL()
        // A missing binary fails the test rather than skipping it: these tests are the point of the target.
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw SidecarFailure("sidecar binary not found at \(binary.path) (swift build, or set SIDECAR_BIN)")
        }
        // AF_UNIX paths are short (~107 bytes): keep everything under a short /tmp dir.
        workdir = URL(fileURLWithPath: "/tmp/bjs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true)
        socketPath = workdir.appendingPathComponent("s.sock").path
        stderrURL = workdir.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        sipPort = try freeUDPPort()
    }

    /// Starts the sidecar and waits (bounded) for its `bluejay-sidecar ready` line.
    func start(timeout: TimeInterval = 30) throws {
        let offset = (try? FileManager.default.attributesOfItem(atPath: stderrURL.path)[.size] as? Int) ?? 0
        let p = Process()
        p.executableURL = binary
        p.arguments = ["--sip", "udp://127.0.0.1:\(sipPort)", "--socket", socketPath, "--data-dir", dataDir.path,
                       "--http", "off", "--linger-ms", "100"]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "BLUEJAY_API_KEY")
        p.environment = env
        let err = try FileHandle(forWritingTo: stderrURL)
        err.seekToEndOfFile()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = (try? Data(contentsOf: stderrURL)).map { String(decoding: $0.dropFirst(offset), as: UTF8.self) } ?? ""
            if text.contains("bluejay-sidecar ready") { return }
            if !p.isRunning { throw SidecarFailure("sidecar exited (\(p.terminationStatus)): \(text.suffix(2000))") }
            usleep(20_000)
        }
        throw SidecarFailure("no ready line within \(timeout)s")
    }

    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        kill9()
    }

    func cleanUp() {
        stop()
        try? FileManager.default.removeItem(at: workdir)
    }

    /// The dry-run body for `simulationResultID`, waiting (bounded) for the flush.
    func body(for simulationResultID: String, timeout: TimeInterval = 10) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let files = (try? FileManager.default.contentsOfDirectory(at: dryRunDir, includingPropertiesForKeys: nil)) ?? []
            for f in files where f.pathExtension == "json" {
                if let data = try? Data(contentsOf: f),
                   let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                   obj["simulation_result_id"] as? String == simulationResultID {
                    return obj
                }
            }
            usleep(50_000)
        }
        throw SidecarFailure("no dry-run body for \(simulationResultID) within \(timeout)s")
    }
}

struct SidecarFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func freeUDPPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw SidecarFailure("no free UDP port") }
    return UInt16(bigEndian: addr.sin_port)
}
