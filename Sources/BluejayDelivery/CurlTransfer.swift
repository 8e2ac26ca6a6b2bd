import CCurl

/// One pooled easy handle and the request it currently carries.
///
/// Handles are created once and reused (only the body and completion change per request), so
/// a busy client does no per-request handle setup; keep-alive connections themselves live in the
/// multi handle's connection cache and are shared by all handles.
final class CurlTransfer {
    let easy: UnsafeMutableRawPointer
    private let secret: String
    /// The request body. libcurl reads CURLOPT_POSTFIELDS lazily, so the bytes must outlive the
    /// transfer: they live here, in a buffer that only ever grows.
    private var bodyBuffer: UnsafeMutableRawBufferPointer
    private var responseBody: [UInt8] = []
    private var retryAfterValue: String?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private(set) var completion: (@Sendable (DeliveryOutcome) -> Void)?

    /// `headers` must outlive this transfer (libcurl does not copy CURLOPT_HTTPHEADER).
    init?(endpoint: BluejayEndpoint, headers: UnsafeMutablePointer<curl_slist>?) {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        self.secret = endpoint.apiKey
        self.bodyBuffer = .allocate(byteCount: 1024, alignment: 1)
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        responseBody.reserveCapacity(4096)

        let me = Unmanaged.passUnretained(self).toOpaque()
        var ok = true
        func check(_ code: CURLcode) { if code != CURLE_OK { ok = false } }
        check(bj_curl_easy_setopt_ptr(easy, CURLOPT_URL, endpoint.updateSimulationResultURL))
        check(bj_curl_easy_setopt_ptr(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(bj_curl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, headers))
        check(bj_curl_easy_setopt_ptr(easy, CURLOPT_USERAGENT, BluejayEndpoint.singleLine(endpoint.userAgent)))
        check(bj_curl_easy_setopt_long(easy, CURLOPT_POST, 1))
        // Signals are process-wide and we run on our own thread: never let curl use SIGALRM for timeouts.
        check(bj_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(bj_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, endpoint.timeoutMs)))
        check(bj_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(1, endpoint.connectTimeoutMs)))
        // Idle keep-alive connections through NATs and load balancers die silently without probes.
        check(bj_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        check(bj_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPIDLE, 30))
        check(bj_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPINTVL, 15))
        check(bj_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS))
        check(bj_curl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        check(bj_curl_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        check(bj_curl_easy_setopt_write(easy, curlWriteCallback))
        check(bj_curl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me))
        check(bj_curl_easy_setopt_header(easy, curlHeaderCallback))
        check(bj_curl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me))
        if !ok { return nil }
    }

    deinit {
        curl_easy_cleanup(easy)
        bodyBuffer.deallocate()
        errorBuffer.deallocate()
    }

    /// Loads the next request into the handle. Returns false if libcurl refused the body.
    func begin(body: [UInt8], completion: @escaping @Sendable (DeliveryOutcome) -> Void) -> Bool {
        if bodyBuffer.count < body.count {
            bodyBuffer.deallocate()
            bodyBuffer = .allocate(byteCount: max(body.count, bodyBuffer.count * 2), alignment: 1)
        }
        body.withUnsafeBytes { src in
            if let base = src.baseAddress { bodyBuffer.baseAddress!.copyMemory(from: base, byteCount: src.count) }
        }
        responseBody.removeAll(keepingCapacity: true)
        retryAfterValue = nil
        errorBuffer[0] = 0
        self.completion = completion
        // Size first: with a size set, curl never strlen()s the (binary-safe) buffer.
        return bj_curl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)) == CURLE_OK
            && bj_curl_easy_setopt_ptr(easy, CURLOPT_POSTFIELDS, UnsafeRawPointer(bodyBuffer.baseAddress!)) == CURLE_OK
    }

    /// The outcome of the finished transfer; hands back the completion and clears it so the handle can be reused.
    func finish(result: CURLcode) -> (DeliveryOutcome, (@Sendable (DeliveryOutcome) -> Void)?) {
        let outcome: DeliveryOutcome
        if result == CURLE_OK {
            var status = 0
            _ = bj_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            let retryAfterMs = retryAfterValue.flatMap { RetryAfter.milliseconds(from: $0) }
            outcome = DeliveryOutcome.forHTTP(status: status, body: responseBody, retryAfterMs: retryAfterMs, secret: secret)
        } else {
            let detail = String(cString: errorBuffer)
            outcome = CurlErrorMapping.outcome(for: result, detail: detail, secret: secret)
        }
        return (outcome, takeCompletion())
    }

    func takeCompletion() -> (@Sendable (DeliveryOutcome) -> Void)? {
        defer { completion = nil }
        return completion
    }

    fileprivate func appendResponse(_ bytes: UnsafeRawBufferPointer) {
        let room = DeliveryOutcome.responseBodyCap - responseBody.count
        if room > 0 { responseBody.append(contentsOf: bytes.prefix(room)) }
    }

    /// Sees every header line of every response on this transfer (including interim 1xx ones).
    fileprivate func headerLine(_ bytes: UnsafeRawBufferPointer) {
        if bytes.starts(with: "HTTP/".utf8) {
            retryAfterValue = nil // a new response begins: forget the previous one's headers
            return
        }
        let name = "retry-after:".utf8
        guard bytes.count > name.count,
              zip(bytes.prefix(name.count), name).allSatisfy({ ($0 | 0x20) == $1 }) else { return }
        retryAfterValue = String(decoding: bytes.dropFirst(name.count), as: UTF8.self)
    }
}

/// Keeps only the first 64 KiB but always claims to have consumed everything: returning less
/// would abort the transfer and lose the keep-alive connection.
private let curlWriteCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    ptr, size, count, userdata in
    let total = size * count
    guard let ptr, let userdata, total > 0 else { return total }
    Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        .appendResponse(UnsafeRawBufferPointer(start: ptr, count: total))
    return total
}

private let curlHeaderCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    ptr, size, count, userdata in
    let total = size * count
    guard let ptr, let userdata, total > 0 else { return total }
    Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        .headerLine(UnsafeRawBufferPointer(start: ptr, count: total))
    return total
}
