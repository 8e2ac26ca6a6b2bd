#if canImport(Glibc)
import Glibc
private let posixWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let posixWrite = Darwin.write
#endif

/// Why the dry-run sink could not do its job; every case names the path involved.
public struct DryRunSinkError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public var description: String { "dry-run sink: \(message): \(path)" }
}

/// The embedded default with no API key: each body is written, exactly as it would be POSTed, to
/// its own file, atomically (temp name in the same directory, fsync, rename, fsync the directory),
/// so a reader never sees half a file and a crash never leaves one under a final name.
public struct DryRunSink: Sendable {
    public let directory: String

    /// Creates the directory (mode 0750, parents too) if missing, then proves it writable by
    /// creating and removing a probe file: a permission check alone lies for root and read-only mounts.
    public init(directory: String) throws {
        guard !directory.isEmpty else { throw DryRunSinkError(path: directory, message: "empty directory path") }
        self.directory = directory
        do {
            try Self.makeDirectories(directory)
        } catch let error as DryRunSinkError where error.path != directory {
            throw DryRunSinkError(path: directory, message: "\(error.message) at \(error.path)")
        }
        let probe = directory + "/.probe-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw DryRunSinkError(path: directory, message: "directory not writable (\(Self.errnoText()))") }
        close(fd)
        unlink(probe)
    }

    /// "<outbox id, 12 digits zero-padded>-<simulation result id, [A-Za-z0-9._-] kept, others → _, ≤ 100 chars>.json"
    public static func fileName(outboxID: Int64, simulationResultID: String) -> String {
        let digits = String(outboxID.magnitude)
        let padded = (outboxID < 0 ? "-" : "") + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
        let safe = simulationResultID.unicodeScalars.prefix(100).map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": return Character(scalar)
            default: return "_"
            }
        }
        return padded + "-" + String(safe) + ".json"
    }

    /// Writes `body` byte-for-byte and returns the final path. An existing file of the same name is
    /// replaced, so re-delivering a row is idempotent.
    public func write(outboxID: Int64, simulationResultID: String, body: [UInt8]) throws -> String {
        let name = Self.fileName(outboxID: outboxID, simulationResultID: simulationResultID)
        let path = directory + "/" + name
        // Leading dot and no ".json": readers globbing *.json never pick up a temp file.
        let temp = directory + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw DryRunSinkError(path: temp, message: "cannot create (\(Self.errnoText()))") }
        var failure: DryRunSinkError?
        if let problem = Self.writeAll(fd, body) {
            failure = DryRunSinkError(path: temp, message: "write failed (\(problem))")
        } else if fsync(fd) != 0 {
            failure = DryRunSinkError(path: temp, message: "fsync failed (\(Self.errnoText()))")
        }
        close(fd)
        if failure == nil, rename(temp, path) != 0 {
            failure = DryRunSinkError(path: path, message: "rename failed (\(Self.errnoText()))")
        }
        if let failure {
            unlink(temp)
            throw failure
        }
        // The rename is only durable once the directory entry is.
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw DryRunSinkError(path: directory, message: "cannot open directory to fsync (\(Self.errnoText()))") }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else { throw DryRunSinkError(path: directory, message: "directory fsync failed (\(Self.errnoText()))") }
        return path
    }

    private static func writeAll(_ fd: Int32, _ body: [UInt8]) -> String? {
        body.withUnsafeBytes { buffer -> String? in
            var offset = 0
            while offset < buffer.count {
                let n = posixWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errnoText()
                }
                offset += n
            }
            return nil
        }
    }

    private static func makeDirectories(_ path: String) throws {
        var isDir = stat()
        if stat(path, &isDir) == 0 {
            guard (isDir.st_mode & S_IFMT) == S_IFDIR else {
                throw DryRunSinkError(path: path, message: "not a directory")
            }
            return
        }
        let parent = path.hasSuffix("/") ? String(path.dropLast()) : path
        if let slash = parent.lastIndex(of: "/"), slash != parent.startIndex {
            try makeDirectories(String(parent[..<slash]))
        }
        if mkdir(path, 0o750) == 0 {
            chmod(path, 0o750) // the umask may have narrowed it
        } else if errno != EEXIST {
            throw DryRunSinkError(path: path, message: "cannot create directory (\(errnoText()))")
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
