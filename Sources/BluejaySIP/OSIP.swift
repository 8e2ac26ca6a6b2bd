import COSIP2

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin glue over libosip2: one-time initialisation and the memory helpers its macros hide from Swift.
enum OSIP {
    /// `parser_init()` rebuilds libosip2's global header tables, so it must run exactly once before any
    /// parse and never concurrently with one; a global `let` gives us `swift_once` semantics for free.
    private static let initialised: Bool = {
        _ = parser_init()
        // libosip2 prints every rejected message to stdout unless a logger is installed (it installs
        // a stdout one on first use). A sink with every level disabled keeps it quiet and cheap; the
        // caller counts and logs rejects itself.
        osip_trace_initialize_func(TRACE_LEVEL0, { _, _, _, _, _ in })
        return true
    }()

    @inline(__always)
    static func ensureInitialised() {
        _ = initialised
    }

    /// `osip_free` is a macro; honour a custom allocator if one was installed, as the macro does.
    @inline(__always)
    static func free(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        if let custom = osip_free_func {
            custom(pointer)
        } else {
            Glibc.free(pointer)
        }
    }

    /// A libosip2-owned copy of `string`, for the setters that take ownership of their argument.
    static func strdup(_ string: String) -> UnsafeMutablePointer<CChar>? {
        string.withCString { osip_strdup($0) }
    }

    /// Swift copy of a libosip2 C string, or nil.
    @inline(__always)
    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    /// Runs one of libosip2's `*_to_str` serialisers and takes ownership of its buffer.
    static func serialise<T>(_ value: UnsafePointer<T>?, _ toStr: (UnsafePointer<T>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32) -> String? {
        guard let value else { return nil }
        var out: UnsafeMutablePointer<CChar>?
        guard toStr(value, &out) == 0, let out else { return nil }
        defer { free(out) }
        return String(cString: out)
    }

    /// The elements of an `osip_list_t`, in order, without libosip2's O(n) positional `osip_list_get`.
    static func elements<T>(_ list: UnsafePointer<osip_list_t>, as _: T.Type) -> OSIPListElements<T> {
        OSIPListElements(list: list)
    }

    /// First element of an `osip_list_t`.
    static func first<T>(_ list: UnsafePointer<osip_list_t>, as _: T.Type) -> UnsafeMutablePointer<T>? {
        list.pointee.node?.pointee.element?.assumingMemoryBound(to: T.self)
    }

    /// Case-insensitive lookup in a generic-param list (Via, From/To, URI params).
    static func param(_ list: UnsafePointer<osip_list_t>, _ name: String) -> UnsafeMutablePointer<osip_generic_param_t>? {
        var node = list.pointee.node
        while let current = node {
            if let element = current.pointee.element?.assumingMemoryBound(to: osip_generic_param_t.self),
               let gname = element.pointee.gname, ASCII.equalsIgnoringCase(gname, name) {
                return element
            }
            node = current.pointee.next
        }
        return nil
    }
}

/// An `osip_list_t` walked node by node as the loop asks, rather than copied into an array first: the
/// checks run on every received message read several lists. The list must not change during a walk.
struct OSIPListElements<Pointee>: Sequence {
    let list: UnsafePointer<osip_list_t>

    var isEmpty: Bool {
        var iterator = makeIterator()
        return iterator.next() == nil
    }

    func makeIterator() -> Iterator { Iterator(node: list.pointee.node) }

    struct Iterator: IteratorProtocol {
        var node: UnsafeMutablePointer<__node_t>?

        mutating func next() -> UnsafeMutablePointer<Pointee>? {
            while let current = node {
                node = current.pointee.next
                if let element = current.pointee.element { return element.assumingMemoryBound(to: Pointee.self) }
            }
            return nil
        }
    }
}

extension UnsafeMutablePointer {
    /// Address of a stored field of a C struct, for libosip2 APIs that take `&msg->vias` and the like.
    /// (`&pointer.pointee.field` would only be valid for the duration of one call.)
    @inline(__always)
    func field<Field>(_ keyPath: WritableKeyPath<Pointee, Field>) -> UnsafeMutablePointer<Field> {
        (UnsafeMutableRawPointer(self) + MemoryLayout<Pointee>.offset(of: keyPath)!).assumingMemoryBound(to: Field.self)
    }
}
