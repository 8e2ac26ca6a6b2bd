import Foundation

/// The calling thread's name as the kernel holds it: what `top -H`, a profile and the benchmark read, which
/// Foundation's `Thread.current.name` does not prove.
public func kernelThreadName() -> String? {
    (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
}
