import CCurl

/// Turns a failed libcurl transfer into a retryable outcome with a short, stable reason prefix
/// ("timeout", "connect failed", ...) followed by curl's detail line for operators.
///
/// Every transport failure is retryable: none of them says the body is wrong. Even configuration
/// errors (bad URL, unsupported scheme) stay retryable so rows wait for the operator's fix in the
/// outbox instead of being dead-lettered en masse.
enum CurlErrorMapping {
    static func outcome(for code: CURLcode, detail: String, secret: String) -> DeliveryOutcome {
        var reason = category(for: code)
        let trimmed = String(detail.prefix(240))
        if !trimmed.isEmpty { reason += ": " + trimmed }
        return .retryable(reason: DeliveryOutcome.redact(reason, secret: secret), status: nil, retryAfterMs: nil)
    }

    static func category(for code: CURLcode) -> String {
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return "timeout"
        case CURLE_COULDNT_CONNECT: return "connect failed"
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return "dns failed"
        case CURLE_SEND_ERROR: return "send failed"
        case CURLE_RECV_ERROR: return "receive failed"
        case CURLE_GOT_NOTHING: return "empty reply"
        case CURLE_PARTIAL_FILE: return "partial reply"
        case CURLE_WEIRD_SERVER_REPLY: return "bad reply"
        case CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_HTTP3: return "http2 error"
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
             CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
             CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return "tls failed"
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return "bad endpoint URL"
        case CURLE_OUT_OF_MEMORY: return "out of memory"
        default:
            return "curl error \(code.rawValue)"
        }
    }
}
