import Foundation

/// stderr for both log formats: whole lines, one write(2) each, under one lock; and the local-time stamp of
/// the current second for the text format.
final class LogOutput: @unchecked Sendable {
    static let shared = LogOutput()
    private let lock = NSLock()
    private var second: time_t = -1
    private var stamp = ""

    /// `2026-11-22T04:47:59+0000`, formatted once a second.
    func timestamp() -> String {
        let t = time(nil)
        lock.lock(); defer { lock.unlock() }
        if t != second {
            var local = tm()
            var buffer = [CChar](repeating: 0, count: 64)
            var copy = t
            // localtime_r, unlike localtime, does not re-read the zone file on each call.
            if localtime_r(&copy, &local) != nil, strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local) > 0 {
                stamp = String(cString: buffer)
            } else {
                stamp = "<unknown>"
            }
            second = t
        }
        return stamp
    }

    func write(_ line: String) {
        var line = line
        line.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    func write(_ line: [UInt8]) {
        line.withUnsafeBytes { write($0) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) {
        lock.lock(); defer { lock.unlock() }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return // stderr closed or full: a log line is not worth blocking or failing for
            }
        }
    }
}
