import Foundation

/// The smallest UDP caller that gives the sidecar a call: INVITE with X-Simulation-Result-Id, ACK, later BYE.
/// Used where a test must not depend on the `start` request.
final class SIPCaller {
    let callID = "\(UUID().uuidString)@client-test"
    private let fd: Int32
    private let port: UInt16
    private var localPort: UInt16 = 0
    private var toTag = ""

    init(port: UInt16, simulationResultID: String) throws {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = Self.loopback(0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        localPort = UInt16(bigEndian: addr.sin_port)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        send("INVITE", cseq: 1, extra: "X-Simulation-Result-Id: \(simulationResultID)\r\nContent-Type: application/sdp\r\n", body: sdp)
        while true {
            guard let msg = receive() else { throw SidecarFailure("no answer to the INVITE") }
            if msg.hasPrefix("SIP/2.0 200") {
                for line in msg.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("to:") {
                    if let r = line.range(of: "tag=") { toTag = String(line[r.upperBound...].prefix { $0 != ";" }) }
                }
                break
            }
            guard msg.hasPrefix("SIP/2.0 1") else { throw SidecarFailure("INVITE answered \(msg.prefix(40))") }
        }
        send("ACK", cseq: 1)
    }

    func bye() {
        send("BYE", cseq: 2)
        for _ in 0..<5 { if receive()?.hasPrefix("SIP/2.0 200") ?? true { break } }
        close(fd)
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = port.bigEndian
        return a
    }

    private func send(_ method: String, cseq: Int, extra: String = "", body: String = "") {
        let to = "<sip:agent@127.0.0.1>" + (toTag.isEmpty ? "" : ";tag=\(toTag)")
        let msg = "\(method) sip:agent@127.0.0.1:\(port) SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 127.0.0.1:\(localPort);branch=z9hG4bK\(UUID().uuidString.prefix(12));rport\r\n"
            + "Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=caller1\r\nTo: \(to)\r\nCall-ID: \(callID)\r\n"
            + "CSeq: \(cseq) \(method)\r\nContact: <sip:caller@127.0.0.1:\(localPort)>\r\n"
            + "\(extra)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        var dest = Self.loopback(port)
        let bytes = Array(msg.utf8)
        _ = withUnsafePointer(to: &dest) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    private func receive() -> String? {
        var buf = [UInt8](repeating: 0, count: 65535)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? String(decoding: buf[..<n], as: UTF8.self) : nil
    }
}
