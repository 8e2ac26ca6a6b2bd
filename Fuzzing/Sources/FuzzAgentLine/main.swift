import FuzzSupport

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's test function. Exported under its C name as well, in case libFuzzer's own `main` is linked.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzAgentLine(fuzzBytes(data, size))
    return 0
}

exit(runFuzzer(testOneInput))
