/// State of a Via `rport` parameter (RFC 3581): the client asks for it bare, the server fills it in.
public enum SIPViaRPort: Equatable, Sendable {
    case absent
    case requested
    case value(Int)
}
