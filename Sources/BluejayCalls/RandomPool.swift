#if canImport(Glibc)
import Glibc
#endif

/// Kernel randomness read 4 KiB at a time. Tags, branches and SDP session ids need unpredictable bits (RFC 3261
/// §19.3), and `SystemRandomNumberGenerator` makes one getrandom(2) call per number: three per call answered.
/// Opening and reading /dev/urandom costs three syscalls per 512 numbers.
/// The bytes are the kernel CSPRNG's own; only the syscalls are batched. Not thread-safe: one per event loop.
struct RandomPool {
    private var bytes = [UInt8](repeating: 0, count: 4_096)
    private var next = 4_096

    mutating func uint64() -> UInt64 {
        if next + 8 > bytes.count { refill() }
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[next..<next + 8]) }
        next += 8
        return value
    }

    private mutating func refill() {
        var filled = 0
        // /dev/urandom is the same CSPRNG as getrandom(2) (which Swift's Glibc module does not export).
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            bytes.withUnsafeMutableBytes { raw in
                while filled < raw.count {
                    let n = read(fd, raw.baseAddress! + filled, raw.count - filled)
                    if n > 0 {
                        filled += n
                    } else if n == 0 || errno != EINTR {
                        break
                    }
                }
            }
            close(fd)
        }
        if filled < bytes.count {
            // No /dev/urandom (a bare chroot): the standard generator fills the rest, a syscall per 8 bytes.
            var generator = SystemRandomNumberGenerator()
            var i = filled
            while i < bytes.count {
                let word: UInt64 = generator.next()
                withUnsafeBytes(of: word) { w in
                    for b in w where i < bytes.count {
                        bytes[i] = b
                        i += 1
                    }
                }
            }
        }
        next = 0
    }
}
