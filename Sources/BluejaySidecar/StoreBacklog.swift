import BluejayStore

/// What SIP saw while the store could not keep it (disk full, read-only, I/O errors): call states and SIP
/// events, written again each second until the store takes them, and the calls that ended meanwhile, flushed
/// once their state is on disk. SIP keeps answering through a store outage; this makes sure nothing it
/// answered is forgotten when the store comes back. Confined to the SIP loop.
final class StoreBacklog {
    /// The newest call state submitted per call (by submission number) while one is in flight or unsaved:
    /// an older unsaved state is never written over a newer one.
    private var newest: [String: Int] = [:]
    private var unsaved: [String: (seq: Int, call: StoredCall)] = [:]
    private var events: [(callID: String, record: StoredRecord)] = []
    /// Calls whose end SIP answered while their state was unsaved.
    private var endedUnsaved: Set<String> = []
    private var seq = 0
    /// Retries in flight: a slow store is not sent a second copy of the same backlog.
    private var retrying = 0

    var isEmpty: Bool { unsaved.isEmpty && events.isEmpty }

    /// A call state is about to be written; returns its submission number.
    func willPersist(_ callID: String) -> Int {
        seq += 1
        newest[callID] = seq
        return seq
    }

    /// The write of submission `seq` committed (nil) or failed.
    func persisted(_ call: StoredCall, seq: Int, error: Error?) {
        let id = call.callID
        if error != nil {
            if (unsaved[id]?.seq ?? 0) < seq { unsaved[id] = (seq, call) }
            return
        }
        if let pending = unsaved[id], pending.seq <= seq { unsaved[id] = nil }
        if unsaved[id] == nil && newest[id] == seq { newest[id] = nil }
    }

    /// True when the call's latest state is not on disk yet: its flush must wait for it.
    func deferEnd(_ callID: String) -> Bool {
        guard unsaved[callID] != nil else { return false }
        endedUnsaved.insert(callID)
        return true
    }

    func eventFailed(_ record: StoredRecord, callID: String) { events.append((callID, record)) }

    /// Writes the backlog again through `persist` and `record` (which report back here); calls `ended` for
    /// each call whose end can be flushed now.
    func retry(persist: (StoredCall, Int, @escaping (Error?) -> Void) -> Void,
               record: (StoredRecord, String, @escaping (Error?) -> Void) -> Void,
               ended: @escaping (String) -> Void) {
        guard retrying == 0, !isEmpty else { return }
        for (id, pending) in unsaved where newest[id] == pending.seq {
            retrying += 1
            persist(pending.call, pending.seq) { [self] error in
                retrying -= 1
                if error == nil, unsaved[id] == nil, endedUnsaved.remove(id) != nil { ended(id) }
            }
        }
        let waiting = events
        events = []
        for (callID, event) in waiting {
            retrying += 1
            record(event, callID) { [self] error in
                retrying -= 1
                if error != nil { events.append((callID, event)) }
            }
        }
    }
}
