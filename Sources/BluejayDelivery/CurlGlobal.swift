import CCurl

/// libcurl's process-wide setup. `curl_global_init` is not thread-safe on its own; a Swift global
/// `static let` is initialised exactly once under the runtime's lock, so every client can just touch it.
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    static func ensure() { _ = initialized }
}
