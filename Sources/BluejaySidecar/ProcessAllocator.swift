import Foundation

/// The library whose `malloc` this process calls: the binary links mimalloc to stand in for glibc's, whose
/// `_int_malloc` took a fifth of the SIP loop's time under libosip2's many small allocations. Logged at start-up,
/// so a build or an image that lost the link (glibc's allocator still works, only slower) shows it.
enum ProcessAllocator {
    static var library: String {
        #if os(Linux)
        // The mapping of /proc/self/maps that holds the address `malloc` resolves to (dladdr is not in Swift's Glibc).
        // Read to the end: /proc files report a size of 0, which readers that trust the size take as empty.
        guard let malloc = dlsym(nil, "malloc"), let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile(),
              let maps = String(data: data, encoding: .utf8) else {
            return "unknown"
        }
        let address = UInt(bitPattern: malloc)
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let dash = fields[0].firstIndex(of: "-"),
                  let start = UInt(fields[0][..<dash], radix: 16),
                  let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                  (start..<end).contains(address) else { continue }
            return String(fields[5].split(separator: "/").last ?? fields[5])
        }
        return "unknown"
        #else
        return "system"
        #endif
    }
}
