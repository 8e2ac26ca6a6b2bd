import BluejayStore
import NIOCore

/// The SIP loop's way to the store. What the loop writes only `written` (call state, flushes the SIP side starts)
/// is committed on the loop itself at the end of the tick that wrote it, when the store is idle
/// (`StoreWriter.commitIfIdle`): at a few hundred calls a second a call's two commits each cost the writer thread
/// a wake-up and the loop another for the completion, more CPU than the commits. Under load the store is never
/// idle that long, and the writer thread batches as before.
final class LoopCommitter {
    private let writer: StoreWriter
    private let loop: EventLoop
    /// A `commitIfIdle` is queued for the end of this tick. On `loop` only.
    private var scheduled = false

    init(writer: StoreWriter, loop: EventLoop) {
        self.writer = writer
        self.loop = loop
    }

    /// `StoreWriter.submit`; from the loop, an urgent `written` operation is committed here when the store is idle.
    func submit(_ operation: @escaping StoreWriter.Operation, singleStatement: Bool = false, deferrable: Bool = false,
                durability: StoreWriter.Durability, completion: StoreWriter.Completion? = nil) {
        let here = !deferrable && durability == .written && loop.inEventLoop
        writer.submit(operation, singleStatement: singleStatement, deferrable: deferrable, durability: durability,
                      committedHere: here, completion: completion)
        guard here, !scheduled else { return }
        scheduled = true
        // Queued behind the tick's other work: the messages read with this one write into the same commit.
        loop.execute { [self] in
            scheduled = false
            writer.commitIfIdle()
        }
    }
}
