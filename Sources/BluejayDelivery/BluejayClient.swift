/// Posts bodies to Bluejay over libcurl's multi interface on one dedicated thread: up to
/// `maxConcurrent` transfers in flight, keep-alive connections reused across posts, pooled easy
/// handles. A hanging server holds one slot until `timeoutMs`; the others keep going.
/// The API key is sent only as a header and scrubbed from every outcome.
public final class BluejayClient: @unchecked Sendable {
    public let endpoint: BluejayEndpoint
    public let maxConcurrent: Int
    private let loop: CurlMultiLoop

    public init(endpoint: BluejayEndpoint, maxConcurrent: Int = 16) {
        self.endpoint = endpoint
        self.maxConcurrent = max(1, maxConcurrent)
        self.loop = CurlMultiLoop(endpoint: endpoint, maxConcurrent: self.maxConcurrent)
    }

    /// Dropping the client without `shutdown` still lets in-flight posts finish (default grace) without blocking.
    deinit {
        loop.shutdown(graceMs: 2_000, wait: false)
    }

    /// Thread-safe; returns at once; `completion` is called exactly once, on the client's thread
    /// (after shutdown has finished, inline on the caller's thread with `.retryable("shutdown")`).
    /// Bodies beyond `maxConcurrent` queue in memory: the outbox worker should bound what it hands over.
    public func post(body: [UInt8], completion: @escaping @Sendable (DeliveryOutcome) -> Void) {
        loop.submit(PendingPost(body: body, completion: completion))
    }

    /// Stops the thread after in-flight transfers finish or `graceMs` passes (then they complete as
    /// `.retryable("shutdown")`); posts not yet started complete as `.retryable("shutdown")` at once.
    /// Blocks until the thread has stopped, except when called from a completion (on the client's thread).
    public func shutdown(graceMs: Int = 2_000) {
        loop.shutdown(graceMs: graceMs, wait: true)
    }
}
