import Foundation
import NIOCore
import NIOPosix

/// The agent's Unix socket: newline-delimited JSON, many concurrent connections.
enum AgentSocketServer {
    static func bind(path: String, group: EventLoopGroup, service: AgentService, peers: AgentPeerCheck) throws -> Channel {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            // An agent that half-closes after its last line still gets every reply before the socket closes.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                guard peers.isOn else { return channel.pipeline.addHandler(AgentConnectionHandler(service: service)) }
                return peers.check(channel).flatMap { refusal -> EventLoopFuture<Void> in
                    if let refusal { return channel.pipeline.addHandler(AgentPeerRefusal(reply: refusal)) }
                    return channel.pipeline.addHandler(AgentConnectionHandler(service: service))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .wait()
        // Owner and group only: agents run as the same user or share the group.
        guard chmod(path, 0o660) == 0 else {
            throw ConfigError.unusable("cannot set mode 0660 on socket \(path): \(String(cString: strerror(errno)))")
        }
        return channel
    }
}
