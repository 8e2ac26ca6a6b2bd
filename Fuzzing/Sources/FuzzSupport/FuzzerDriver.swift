import CLibFuzzer

/// Hands control to libFuzzer with `body` as the test function; returns libFuzzer's exit status. A
/// `main.swift` calls this rather than exporting `LLVMFuzzerTestOneInput`, because SwiftPM links executables
/// against their own generated entry point.
public func runFuzzer(_ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    return LLVMFuzzerRunDriver(&argc, &argv, body)
}
