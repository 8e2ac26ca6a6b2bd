import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One request as the server saw it.
struct RecordedRequest: Sendable {
    var method: String
    var uri: String
    var headers: HTTPHeaders
    var body: [UInt8]
}

/// What the server does with a request; tests choose it per request.
enum ServerBehavior: Sendable {
    case respond(status: Int, headers: [(String, String)], body: String)
    case respondAfter(ms: Int64, status: Int)
    case hang
    case close

    static let ok = ServerBehavior.respond(
        status: 200, headers: [("Content-Type", "application/json")], body: #"{"status":"success","message":null}"#)
}

/// A real HTTP/1.1 server on 127.0.0.1 (port 0), built on SwiftNIO, that records requests and counts TCP connections.
final class TestHTTPServer: @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    private let lock = NSLock()
    private var recorded: [RecordedRequest] = []
    private var accepted = 0
    private var behavior: @Sendable (RecordedRequest) -> ServerBehavior

    private(set) var port = 0
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(behavior: @escaping @Sendable (RecordedRequest) -> ServerBehavior = { _ in .ok }) throws {
        self.behavior = behavior
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 512)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                noteConnection()
                do {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RecordingHandler(server: self))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .wait()
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    func setBehavior(_ behavior: @escaping @Sendable (RecordedRequest) -> ServerBehavior) {
        lock.withLock { self.behavior = behavior }
    }

    var requests: [RecordedRequest] { lock.withLock { recorded } }
    var connectionCount: Int { lock.withLock { accepted } }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    private func noteConnection() { lock.withLock { accepted += 1 } }

    fileprivate func record(_ request: RecordedRequest) -> ServerBehavior {
        lock.withLock {
            recorded.append(request)
            return behavior(request)
        }
    }

    /// A port that refuses connections: bind one, note it, close it.
    static func closedPort() throws -> Int {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 1
        try channel.close().wait()
        return port
    }
}

private final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: TestHTTPServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(server: TestHTTPServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            let request = RecordedRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers, body: body)
            switch server.record(request) {
            case .respond(let status, let headers, let text):
                respond(context: context, status: status, headers: headers, body: text)
            case .respondAfter(let ms, let status):
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(ms)) {
                    loopBound.value.respond(context: contextBound.value, status: status, headers: [], body: "{}")
                }
            case .hang:
                break
            case .close:
                context.close(promise: nil)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, status: Int, headers: [(String, String)], body: String) {
        var httpHeaders = HTTPHeaders(headers)
        httpHeaders.replaceOrAdd(name: "Content-Length", value: String(body.utf8.count))
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: httpHeaders)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
