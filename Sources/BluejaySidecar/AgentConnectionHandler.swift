import BluejayAgentProtocol
import NIOCore

/// One agent connection: splits the stream into lines (1 MiB each at most), hands each to the service,
/// and writes the replies in line order even when later lines are answered first.
final class AgentConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let service: AgentService
    private var pending: [UInt8] = []
    /// Bytes of an over-long line are dropped until its newline, then the line gets `line_too_long`.
    private var discarding = false
    /// Replies by line sequence; `nextToWrite` is the oldest line not yet answered on the wire.
    private var replies: [Int: [UInt8]] = [:]
    private var nextSequence = 0
    private var nextToWrite = 0
    private var context: ChannelHandlerContext?
    /// The agent sent EOF: close once every line read so far has been answered.
    private var inputClosed = false
    private var closing = false
    /// Replies come back from the store writer's thread; one hop to the loop per commit, not per line.
    private var handoff: LoopHandoff?

    init(service: AgentService) { self.service = service }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        handoff = LoopHandoff(loop: context.eventLoop) { [weak self] in self?.flushReplies() }
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        while buffer.readableBytes > 0 {
            let view = buffer.readableBytesView
            if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
                let count = newline - view.startIndex
                if discarding {
                    buffer.moveReaderIndex(forwardBy: count + 1)
                    discarding = false
                    answer(AgentReply.error(AgentProtocolError(code: .lineTooLong, message: "line longer than \(AgentLine.maxLineBytes) bytes; it was not read")))
                    continue
                }
                if pending.count + count > AgentLine.maxLineBytes + 1 {
                    pending.removeAll(keepingCapacity: false)
                    buffer.moveReaderIndex(forwardBy: count + 1)
                    answer(AgentReply.error(AgentProtocolError(code: .lineTooLong, message: "line longer than \(AgentLine.maxLineBytes) bytes; it was not read")))
                    continue
                }
                let line: [UInt8]
                if pending.isEmpty {
                    line = buffer.readBytes(length: count) ?? []
                } else {
                    pending.append(contentsOf: buffer.readBytes(length: count) ?? [])
                    line = pending
                    pending.removeAll(keepingCapacity: true)
                }
                buffer.moveReaderIndex(forwardBy: 1)
                dispatch(line)
            } else {
                let count = buffer.readableBytes
                if discarding || pending.count + count > AgentLine.maxLineBytes + 1 {
                    discarding = true
                    pending.removeAll(keepingCapacity: false)
                } else {
                    pending.append(contentsOf: buffer.readBytes(length: count) ?? [])
                }
                buffer.moveReaderIndex(to: buffer.writerIndex)
            }
        }
    }

    private func dispatch(_ line: [UInt8]) {
        // Blank lines (a bare CR or nothing) are not requests: skip them instead of answering bad_json.
        if line.isEmpty || line == [UInt8(ascii: "\r")] { return }
        let sequence = nextSequence
        nextSequence += 1
        let handoff = self.handoff!
        service.handle(line[...]) { [self] reply in
            handoff.run { self.deliver(sequence, reply, flush: false) }
        }
    }

    private func answer(_ reply: [UInt8]) {
        let sequence = nextSequence
        nextSequence += 1
        deliver(sequence, reply)
    }

    /// Replies written since the last flush (a burst from one commit goes out in one flush).
    private var unflushed = false

    private func flushReplies() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func deliver(_ sequence: Int, _ reply: [UInt8], flush: Bool = true) {
        replies[sequence] = reply
        guard let context else { return } // the agent went away; its records are kept regardless
        var wrote = false
        while let next = replies.removeValue(forKey: nextToWrite) {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: next)), promise: nil)
            nextToWrite += 1
            wrote = true
        }
        if wrote {
            if flush { context.flush() } else { unflushed = true }
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
        guard inputClosed, !closing, nextToWrite == nextSequence, let context else { return }
        closing = true
        unflushed = false
        let channel = context.channel
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)), promise: done)
        done.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A client that does not read its replies stops being read from, instead of growing our buffers.
        _ = context.channel.setOption(.autoRead, value: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
