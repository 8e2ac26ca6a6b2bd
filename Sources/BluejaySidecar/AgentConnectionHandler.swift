import BluejayAgentProtocol
import Foundation
import NIOCore

/// One agent connection: splits the stream into lines (1 MiB each at most), hands each to the service,
/// and writes the replies in line order even when later lines are answered first.
///
/// The records among the lines of one read go to the store as one operation, and their replies come back in
/// one hop and leave in one write: under pipelining a read holds dozens of lines, and per-line submissions,
/// wake-ups and writes cost more than the records themselves.
final class AgentConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let service: AgentService
    private var pending: [UInt8] = []
    /// Bytes of an over-long line are dropped until its newline, then the line gets `line_too_long`.
    private var discarding = false
    /// Replies in line order, held until every line before theirs is answered.
    private var replies = AgentReplyQueue()
    private var context: ChannelHandlerContext?
    /// The agent sent EOF: close once every line read so far has been answered.
    private var inputClosed = false
    private var closing = false
    /// Replies come back from the store writer's thread; one hop to the loop per commit, not per line.
    private var handoff: LoopHandoff?
    /// Records of the current read not yet submitted, and their lines' sequences.
    private var batch = AgentRecordBatch()
    private var batchSequences: [Int] = []

    /// A pipelining agent is read no further while this many of its lines, or lines of this many bytes, wait
    /// for their replies (a slow disk): what it has in flight is bounded, and it waits in its own socket buffer.
    static let maxUnansweredLines = 4_096
    static let maxUnansweredBytes = 16 << 20

    init(service: AgentService) { self.service = service }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        handoff = LoopHandoff(loop: context.eventLoop) { [weak self] in self?.flushReplies() }
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // Every complete line of this read in one copy; lines are slices of it.
        let view = buffer.readableBytesView
        if let last = view.lastIndex(of: UInt8(ascii: "\n")) {
            let chunk = buffer.readBytes(length: last - view.startIndex + 1) ?? []
            var start = 0
            while let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
                line(chunk[start..<newline], now: now)
                start = newline + 1
            }
        }
        // A line cut by the read's end waits for the rest.
        let count = buffer.readableBytes
        if count > 0 {
            if discarding || pending.count + count > AgentLine.maxLineBytes + 1 {
                discarding = true
                pending.removeAll(keepingCapacity: false)
            } else {
                buffer.withUnsafeReadableBytes { pending.append(contentsOf: $0) }
            }
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        submitBatch()
        updateReading()
    }

    /// Reads on while the agent reads its replies (the channel is writable) and its lines in flight are within
    /// bounds; after EOF, not at all.
    private func updateReading() {
        guard let context, !inputClosed else { return }
        let read = context.channel.isWritable && replies.unanswered < Self.maxUnansweredLines
            && replies.unansweredBytes < Self.maxUnansweredBytes
        guard read != reading else { return }
        reading = read
        _ = context.channel.setOption(.autoRead, value: read)
    }
    /// What `autoRead` was last set to.
    private var reading = true

    /// One line without its "\n" (joined with what an earlier read left of it).
    private func line(_ bytes: ArraySlice<UInt8>, now: Int64) {
        if discarding {
            discarding = false
            return answer(AgentReply.error(AgentProtocolError(code: .lineTooLong, message: "line longer than \(AgentLine.maxLineBytes) bytes; it was not read")))
        }
        if pending.count + bytes.count > AgentLine.maxLineBytes + 1 {
            pending.removeAll(keepingCapacity: false)
            return answer(AgentReply.error(AgentProtocolError(code: .lineTooLong, message: "line longer than \(AgentLine.maxLineBytes) bytes; it was not read")))
        }
        if pending.isEmpty { return dispatch(bytes, now: now) }
        pending.append(contentsOf: bytes)
        let whole = pending
        pending.removeAll(keepingCapacity: true)
        dispatch(whole[...], now: now)
    }

    private func dispatch(_ line: ArraySlice<UInt8>, now: Int64) {
        // Blank lines (a bare CR or nothing) are not requests: skip them instead of answering bad_json.
        if line.isEmpty || (line.count == 1 && line.first == UInt8(ascii: "\r")) { return }
        if batch.isEmpty { batch.begin(flushCount: service.flushCount) }
        switch service.step(line, arrivalEpochMs: now) {
        case .append(let record):
            batchSequences.append(replies.reserve(bytes: line.count))
            batch.append(record)
        case .answer(let reply):
            answer(reply)
        case .request(let request):
            // Store writes and flushes keep line order: what was read before goes to the store first.
            submitBatch()
            let sequence = replies.reserve(bytes: line.count)
            let handoff = self.handoff!
            service.handle(request, arrivalEpochMs: now) { [self] reply in
                handoff.run { self.deliver(sequence, reply, flush: false) }
            }
        }
    }

    private func submitBatch() {
        guard !batch.isEmpty else { return }
        let sequences = batchSequences
        let handoff = self.handoff!
        service.submit(batch) { [self] result in
            handoff.run {
                self.service.account(result)
                self.deliver(sequences, result.replies)
            }
        }
        batch.removeAll()
        batchSequences.removeAll(keepingCapacity: true)
    }

    private func answer(_ reply: [UInt8]) {
        deliver(replies.reserve(), reply)
    }

    /// Replies written since the last flush (a burst from one commit goes out in one flush).
    private var unflushed = false

    private func flushReplies() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func deliver(_ sequence: Int, _ reply: [UInt8], flush: Bool = true) {
        replies.fill(sequence, reply)
        writeReady(flush: flush)
    }

    private func deliver(_ sequences: [Int], _ results: [[UInt8]]) {
        for (sequence, reply) in zip(sequences, results) { replies.fill(sequence, reply) }
        writeReady(flush: false)
    }

    /// Writes every reply whose turn has come, as one buffer.
    private func writeReady(flush: Bool) {
        guard let context else { return } // the agent went away; its records are kept regardless
        let bytes = replies.readyBytes()
        if bytes > 0 {
            var out = context.channel.allocator.buffer(capacity: bytes)
            replies.takeReady { out.writeBytes($0) }
            context.write(wrapOutboundOut(out), promise: nil)
            if flush { context.flush() } else { unflushed = true }
            updateReading()
        }
        closeIfDone()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            pending.removeAll(keepingCapacity: false) // a line cut short by EOF is not a request
            _ = context.channel.setOption(.autoRead, value: false)
            closeIfDone()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// After EOF, once every line has its reply: close when the replies written so far have left (writes
    /// complete in order, so an empty write completing means all before it did).
    private func closeIfDone() {
        guard inputClosed, !closing, replies.allWritten, let context else { return }
        closing = true
        unflushed = false
        let channel = context.channel
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)), promise: done)
        done.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A client that does not read its replies stops being read from, instead of growing our buffers.
        updateReading()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
