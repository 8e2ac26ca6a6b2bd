/// One header line as written on the wire: the name with its original spelling and the value
/// unfolded and trimmed (each fold, and each run of SP/HTAB, becomes one SP: RFC 3261 §7.3.1).
///
/// libosip2 lowercases the names of headers it does not know and turns a fold into a run of spaces,
/// so X- headers (metadata) and the name spellings come from the received bytes instead (`SIPHeaderIndex`).
struct SIPHeaderField {
    var name: String
    var value: String

    /// RFC 3261 §7.3.3 (and later RFCs') compact forms, lowercased, mapped to their long names.
    static let compactForms: [String: String] = [
        "a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition",
        "e": "content-encoding", "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported",
        "l": "content-length", "m": "contact", "o": "event", "r": "refer-to", "s": "subject",
        "t": "to", "u": "allow-events", "v": "via", "x": "session-expires", "y": "identity",
    ]

    /// Lowercased long form of a header name, so "k", "Supported" and "SUPPORTED" compare equal.
    static func canonicalName(_ name: String) -> String {
        let lower = ASCII.lowercased(name)
        return compactForms[lower] ?? lower
    }

    /// Header names (lowercase) that libosip2 5.x parses into dedicated fields; everything else ends up
    /// in its list of "other headers". Mirrors `parser_init()` in osip_parser_cfg.c.
    static let knownToOSIP: Set<String> = [
        "accept", "accept-encoding", "accept-language", "alert-info", "allow", "authentication-info",
        "authorization", "c", "call-id", "call-info", "contact", "content-encoding", "content-length",
        "content-type", "cseq", "e", "error-info", "f", "from", "i", "l", "m", "mime-version",
        "proxy-authenticate", "proxy-authentication-info", "proxy-authorization", "record-route",
        "route", "t", "to", "v", "via", "www-authenticate",
    ]
}
