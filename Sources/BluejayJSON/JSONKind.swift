/// The six JSON value kinds; callers check the kind before reading a typed accessor of `RawJSON`.
public enum JSONKind: Equatable, Sendable {
    case object, array, string, number, bool, null
}
