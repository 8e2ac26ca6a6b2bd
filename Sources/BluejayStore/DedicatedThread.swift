import Foundation

/// The sidecar's own threads (`bj-store`, `bj-checkpoint`, `bj-delivery`, `bj-outbox`): named so that `top -H`, a
/// profile and the benchmark's per-thread figures find them.
public enum DedicatedThread {
    /// A thread, not started yet, that names itself `name` (at most 15 bytes: Linux refuses longer) and runs `body`.
    /// The thread names itself for the kernel as well as for Foundation: Foundation passes a name on to the kernel
    /// only once it holds the thread's handle, which a just-started thread can run ahead of, and such a thread kept
    /// the process's name (seen once, under AddressSanitizer).
    public static func make(name: String, _ body: @escaping @Sendable () -> Void) -> Thread {
        precondition(name.utf8.count <= 15, "a thread name over 15 bytes: \(name)")
        return Thread {
            nameForKernel(name)
            Thread.current.name = name
            body()
        }
    }

    /// pthread_setname_np(3) for the calling thread, which Swift's Glibc module does not declare.
    private static func nameForKernel(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = Array(name.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
