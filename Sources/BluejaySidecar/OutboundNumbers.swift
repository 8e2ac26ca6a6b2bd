import BluejayWebhook
import Foundation

/// Simulation result ids Bluejay announced for outbound simulations, by dialled number (E.164 digits):
/// an INVITE with no `X-Simulation-Result-Id` to such a number takes the next unused id.
final class OutboundNumbers: @unchecked Sendable {
    private let lock = NSLock()
    private var unused: [String: [String]] = [:]
    private var known: Set<String> = []

    /// Ids announced for `e164`; one known already (announced again, or `claimed` by a call before a restart)
    /// is not handed out again.
    func add(e164: String, ids: [String], claimed: Bool = false) {
        guard !e164.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        for id in ids where known.insert(e164 + "|" + id).inserted && !claimed { unused[e164, default: []].append(id) }
    }

    /// Takes the next unused id for the first dialled string that matches a number.
    func claim(dialled: [String]) -> (e164: String, id: String)? {
        lock.lock(); defer { lock.unlock() }
        for text in dialled {
            let e164 = PhoneNumber.normalize(text)
            guard !e164.isEmpty, var ids = unused[e164], !ids.isEmpty else { continue }
            let id = ids.removeFirst()
            unused[e164] = ids
            return (e164, id)
        }
        return nil
    }
}
