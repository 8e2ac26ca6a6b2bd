import ArgumentParser
import BluejayJSON
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `bluejay-sidecar emit`: one request to the agent socket from a shell script; prints the reply and
/// exits 1 when the sidecar answers `ok:false` (69 when it cannot be reached).
struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit", abstract: "Send one record to a running sidecar's agent socket and print its reply.",
        discussion: """
            Examples:
              bluejay-sidecar emit --call-id abc@pbx --tool lookup_order --params '{"id":1}' --output '"shipped"'
              bluejay-sidecar emit --simulation-result-id 123 --event escalated
              bluejay-sidecar emit --call-id abc@pbx --metadata '{"tier":"gold"}'
              bluejay-sidecar emit --simulation-result-id 123 --start        # a ledger with no SIP call
              bluejay-sidecar emit --call-id abc@pbx --end
            """)

    @Option(name: .long, help: "The call's SIP Call-ID.") var callID: String?
    @Option(name: .long, help: "The call's simulation result id.") var simulationResultID: String?
    @Option(name: .long, help: "Record a tool call with this name.") var tool: String?
    @Option(name: .long, help: "Tool call parameters, a JSON object.") var params: String?
    @Option(name: .long, help: "Tool call output, any JSON value.") var output: String?
    @Option(name: .long, help: "Description of the tool call or event.") var description: String?
    @Option(name: .long, help: "Record an event with this title.") var event: String?
    @Option(name: .long, help: "Merge this JSON object into the call's metadata.") var metadata: String?
    @Flag(name: .long, help: "Open a ledger with no SIP call behind it (needs --simulation-result-id).") var start = false
    @Flag(name: .long, help: "The agent is done with the call: flush it now.") var end = false
    @Flag(name: .long, help: "Ask what the sidecar knows about the call.") var lookup = false
    @Option(name: .long, help: "Agent socket path (default $XDG_RUNTIME_DIR/bluejay-sidecar.sock, else /tmp/bluejay-sidecar.sock).")
    var socket: String?

    func validate() throws {
        guard callID != nil || simulationResultID != nil else { throw ValidationError("name the call: --call-id or --simulation-result-id") }
        let chosen = [tool != nil, event != nil, metadata != nil && tool == nil && event == nil, start, end, lookup].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("choose exactly one of --tool, --event, --metadata, --start, --end, --lookup") }
        if start && simulationResultID == nil { throw ValidationError("--start needs --simulation-result-id") }
        for (flag, text, object) in [("--params", params, true), ("--output", output, false), ("--metadata", metadata, true)] {
            guard let text else { continue }
            guard let json = try? RawJSON.parse(Array(text.utf8)) else { throw ValidationError("\(flag) is not valid JSON: \(text.prefix(80))") }
            if object && json.kind != .object { throw ValidationError("\(flag) must be a JSON object") }
        }
    }

    func line() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        let type = tool != nil ? "tool_call" : event != nil ? "event" : start ? "start" : end ? "end" : lookup ? "lookup" : "metadata"
        w.member("type", string: type)
        if let callID { w.member("call_id", string: callID) }
        if let simulationResultID { w.member("simulation_result_id", string: simulationResultID) }
        if let tool { w.member("name", string: tool) }
        if let event { w.member("title", string: event) }
        if tool != nil || event != nil, let description { w.member("description", string: description) }
        if tool != nil, let params { w.member("parameters", raw: Array(params.utf8)[...]) }
        if tool != nil, let output { w.member("output", raw: Array(output.utf8)[...]) }
        if tool == nil && event == nil, let metadata { w.member("metadata", raw: Array(metadata.utf8)[...]) }
        w.endObject()
        return w.bytes + [UInt8(ascii: "\n")]
    }

    func run() throws {
        let path = socket ?? SidecarOptions.defaultSocketPath
        let reply: String
        do {
            reply = try UnixLineSocket.request(path: path, line: line())
        } catch {
            FileHandle.standardError.write(Data("bluejay-sidecar: cannot reach the agent socket \(path): \(error)\n".utf8))
            throw ExitCode(69)
        }
        print(reply)
        let ok = (try? RawJSON.parse(Array(reply.utf8)))?["ok"]?.bool ?? false
        if !ok { throw ExitCode(1) }
    }
}

/// One request line, one reply line, over a Unix socket with plain POSIX calls (a CLI needs no event loop).
enum UnixLineSocket {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func request(path: String, line: [UInt8], timeoutSeconds: Int = 10) throws -> String {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw Failure(description: String(cString: strerror(errno))) }
        var sent = 0
        while sent < line.count {
            let n = line[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: String(cString: strerror(errno))) }
            sent += n
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(UInt8(ascii: "\n")) {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: n == 0 ? "connection closed before a reply" : "no reply: \(String(cString: strerror(errno)))") }
            reply += buffer[..<n]
        }
        return String(decoding: reply.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }
}
