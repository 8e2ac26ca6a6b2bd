import Crypto

/// Compares secrets (such as the `x-webhook-secret` header) without leaking through timing where
/// they differ, or how long the expected one is.
public enum ConstantTime {
    /// Both sides are hashed to 32-byte SHA-256 digests and the digests compared with no early exit,
    /// so the comparison's time depends on neither the position of the first difference nor on the
    /// relation of the two lengths (hashing time only tracks each input's own length).
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let da = Array(SHA256.hash(data: a))
        let db = Array(SHA256.hash(data: b))
        var diff: UInt8 = 0
        for i in 0..<da.count { diff |= da[i] ^ db[i] }
        // The length check is folded in without a branch on the content; digests of different
        // lengths' inputs already differ except by a SHA-256 collision.
        diff |= a.count == b.count ? 0 : 1
        return diff == 0
    }
}
