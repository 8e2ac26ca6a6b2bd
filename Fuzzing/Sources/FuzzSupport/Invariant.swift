#if canImport(Glibc)
import Glibc
#endif

/// A property every input must keep. A broken one prints what broke and aborts, which libFuzzer reports as a
/// crash and saves the input (`crash-<sha1>`), like any trap in the code under test.
@inline(__always)
public func invariant(_ holds: @autoclosure () -> Bool, _ what: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    guard !holds() else { return }
    let text = "invariant broken at \(file):\(line): \(what())\n"
    _ = text.withCString { fputs($0, stderr) }
    abort()
}

/// libFuzzer's bytes as an array (the decoders take `[UInt8]`, as the listeners hand them over).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A small deterministic generator seeded from the input, for choices such as chunk sizes that must replay
/// identically from a saved crash input (SplitMix64).
public struct InputRandom {
    private var state: UInt64

    public init(_ bytes: [UInt8]) {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for byte in bytes.prefix(16) { seed = seed &* 31 &+ UInt64(byte) }
        state = seed
    }

    public mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(max(bound, 1)))
    }
}
