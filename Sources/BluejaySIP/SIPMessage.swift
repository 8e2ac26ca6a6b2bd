import COSIP2

/// One SIP request or response, owned as a libosip2 `osip_message_t`.
///
/// Accessors read the C structure on demand instead of copying every header into Swift up front:
/// most messages are looked at for a handful of fields and then dropped. Not thread-safe; use one
/// message from one thread at a time.
public final class SIPMessage {
    /// Largest datagram or framed message we accept (the UDP payload limit; RFC 3261 §18.1.1 only
    /// needs 1300 bytes, but fragmented UDP and TCP can legitimately carry more).
    public static let maxSize = 65_535

    /// The libosip2 message; freed in `deinit`.
    let osip: UnsafeMutablePointer<osip_message_t>

    /// Set when the request line was unusable and a placeholder was parsed so the headers could still
    /// be recovered for a 400 (see `SIPMessage.parse`).
    let requestLineRecovered: Bool

    /// Whether `headerIndex` holds the headers as received (not as libosip2 would write them).
    let arrivedWithHeaders: Bool

    /// Parsed only to be answered with a 400: its headers as received may be what made it wrong.
    var refused = false

    /// `headers` indexes the header section as received; nil for messages built here.
    init(osip: UnsafeMutablePointer<osip_message_t>, headers: SIPHeaderIndex?, requestLineRecovered: Bool = false) {
        self.osip = osip
        self.requestLineRecovered = requestLineRecovered
        arrivedWithHeaders = headers != nil
        if let headers { headerIndex = headers }
    }

    deinit {
        osip_message_free(osip)
    }

    /// Where every header line sits (names in original spelling): from the received bytes, or for a
    /// message built here, from what libosip2 would put on the wire (on first use).
    lazy var headerIndex: SIPHeaderIndex = {
        let wire = serialize()
        let layout = wire.withUnsafeBytes { SIPRawLayout($0) }
        return SIPHeaderIndex(bytes: Array(wire[layout.headersStart..<layout.headersEnd]), entries: layout.headers)
    }()

    // MARK: Start line

    public var isRequest: Bool { osip.pointee.status_code == 0 }

    /// The request method; for a response, the CSeq method (what the response is for).
    public var method: String {
        if isRequest, let method = osip.pointee.sip_method { return String(cString: method) }
        return cseqMethod
    }

    /// 0 for requests.
    public var statusCode: Int { Int(osip.pointee.status_code) }

    public var reasonPhrase: String? { OSIP.string(osip.pointee.reason_phrase) }

    /// The request-URI as libosip2 serialises it; nil for responses and for requests whose request
    /// line could not be parsed.
    public var requestURI: String? {
        guard isRequest, !requestLineRecovered else { return nil }
        return OSIP.serialise(UnsafePointer(osip.pointee.req_uri), osip_uri_to_str)
    }

    /// "SIP/2.0" for anything we accept.
    public var version: String? { OSIP.string(osip.pointee.sip_version) }

    // MARK: Dialog identifiers

    public var callID: String {
        OSIP.serialise(UnsafePointer(osip.pointee.call_id), osip_call_id_to_str) ?? ""
    }

    /// Validated to fit 0...2^31-1 before a message is handed out as `.message`.
    public var cseqNumber: UInt32 {
        guard let number = osip.pointee.cseq?.pointee.number else { return 0 }
        return ASCII.parseDigits(number).map { UInt32($0) } ?? 0
    }

    public var cseqMethod: String { OSIP.string(osip.pointee.cseq?.pointee.method) ?? "" }

    public var fromTag: String? { tag(osip.pointee.from) }
    public var toTag: String? { tag(osip.pointee.to) }

    /// The whole From value as libosip2 serialises it, e.g. `"Alice" <sip:alice@a.example>;tag=1`.
    public var fromHeader: String { OSIP.serialise(UnsafePointer(osip.pointee.from), osip_from_to_str) ?? "" }
    public var toHeader: String { OSIP.serialise(UnsafePointer(osip.pointee.to), osip_from_to_str) ?? "" }

    /// Just the URI of From, e.g. `sip:alice@a.example`.
    public var fromURI: String { OSIP.serialise(UnsafePointer(osip.pointee.from?.pointee.url), osip_uri_to_str) ?? "" }
    public var toURI: String { OSIP.serialise(UnsafePointer(osip.pointee.to?.pointee.url), osip_uri_to_str) ?? "" }

    /// Display name of From without quotes, if any.
    public var fromDisplayName: String? { displayName(osip.pointee.from) }

    private func tag(_ header: UnsafeMutablePointer<osip_from_t>?) -> String? {
        guard let header else { return nil }
        return OSIP.param(UnsafePointer(header.field(\.gen_params)), "tag").flatMap { OSIP.string($0.pointee.gvalue) }
    }

    private func displayName(_ header: UnsafeMutablePointer<osip_from_t>?) -> String? {
        guard let name = OSIP.string(header?.pointee.displayname) else { return nil }
        if name.utf8.count >= 2, name.utf8.first == UInt8(ascii: "\""), name.utf8.last == UInt8(ascii: "\"") {
            return String(name.dropFirst().dropLast())
        }
        return name
    }

    // MARK: Routing

    /// The top Via, nil if absent or unroutable (no host, bad port).
    public var topVia: SIPVia? {
        OSIP.first(UnsafePointer(osip.field(\.vias)), as: osip_via_t.self).flatMap(SIPVia.init)
    }

    /// Every Via, top first; unroutable entries are left out.
    public var vias: [SIPVia] {
        OSIP.elements(UnsafePointer(osip.field(\.vias)), as: osip_via_t.self).compactMap(SIPVia.init)
    }

    /// Max-Forwards (libosip2 keeps it as an "other" header); nil if absent or not a number.
    public var maxForwards: Int? {
        Self.otherHeader(osip, "max-forwards")?.pointee.hvalue.flatMap { ASCII.parseDigits($0) }
    }

    /// The first Contact URI, e.g. the remote target of a dialog (RFC 3261 §12.1.1).
    public var contactURI: String? {
        let contact = OSIP.first(UnsafePointer(osip.field(\.contacts)), as: osip_contact_t.self)
        return OSIP.serialise(UnsafePointer(contact?.pointee.url), osip_uri_to_str)
    }

    // MARK: Body

    /// "type/subtype" in lowercase (media types are case-insensitive), without parameters.
    public var contentType: String? {
        guard let type = osip.pointee.content_type, let main = type.pointee.type, let sub = type.pointee.subtype else { return nil }
        return ASCII.lowercased(String(cString: main) + "/" + String(cString: sub))
    }

    /// The first body part (the whole body unless multipart), or empty.
    public var body: [UInt8] {
        guard let part = OSIP.first(UnsafePointer(osip.field(\.bodies)), as: osip_body_t.self),
              let bytes = part.pointee.body, part.pointee.length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: part.pointee.length))
    }

    /// Serialise with `osip_message_to_str`. libosip2 always writes Content-Length itself, from the body.
    public func serialize() -> [UInt8] {
        var out: UnsafeMutablePointer<CChar>?
        var length = 0
        guard osip_message_to_str(osip, &out, &length) == 0, let out else { return [] }
        defer { OSIP.free(out) }
        return Array(UnsafeRawBufferPointer(start: out, count: length))
    }

    /// The first libosip2 "other" header of `message` with this (lowercase) name.
    static func otherHeader(_ message: UnsafeMutablePointer<osip_message_t>, _ lowercaseName: String) -> UnsafeMutablePointer<osip_header_t>? {
        OSIP.elements(UnsafePointer(message.field(\.headers)), as: osip_header_t.self).first { header in
            header.pointee.hname.map { ASCII.equalsIgnoringCase($0, lowercaseName) } ?? false
        }
    }

    /// Value of the first libosip2 "other" header with this (lowercase) name.
    func otherHeaderValue(_ lowercaseName: String) -> String? {
        Self.otherHeader(osip, lowercaseName).map { OSIP.string($0.pointee.hvalue) ?? "" }
    }

    /// How many libosip2 "other" headers carry this name.
    func otherHeaderCount(_ lowercaseName: String) -> Int {
        OSIP.elements(UnsafePointer(osip.field(\.headers)), as: osip_header_t.self).reduce(0) { count, header in
            guard let name = header.pointee.hname else { return count }
            return ASCII.equalsIgnoringCase(name, lowercaseName) ? count + 1 : count
        }
    }
}

/// A message may be handed from one thread (or event loop) to another; it must not be used from two
/// at once. The class cannot express that, hence `@unchecked`.
extension SIPMessage: @unchecked Sendable {}
