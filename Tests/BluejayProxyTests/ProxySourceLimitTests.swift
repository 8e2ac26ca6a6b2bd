import BluejayCalls
import BluejayProxy
import BluejaySIP
import XCTest

/// Mode proxy: callers' new calls are limited per source; the upstream's requests never are.
final class ProxySourceLimitTests: XCTestCase {
    func testCallersAreLimitedAndTheUpstreamIsNot() {
        let env = FakeProxyEnvironment()
        let proxy = ProxyCore(config: ProxyConfig(upstream: ProxyUpstream(uri: "sip:198.51.100.1:5080")!, advertisedHost: "203.0.113.1"),
                              environment: env)
        env.core = proxy
        proxy.sourceLimiter = SourceLimiter(config: .init(invitesPerSecond: 1))
        let caller = SIPPeer(transport: .udp, host: "192.0.2.10", port: 5060, channelID: 1, localPort: 5060)
        let upstream = SIPPeer(transport: .udp, host: "198.51.100.1", port: 5080, channelID: 1, localPort: 5060)

        proxy.receive(ProxyText.invite(), from: caller)
        XCTAssertEqual(env.methods, ["100", "INVITE"])
        _ = env.drain()
        proxy.receive(ProxyText.request("INVITE", callID: "call-2@test", via: "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c2",
                                        body: ProxyText.sdp), from: caller)
        let refused = env.drain()
        XCTAssertEqual(refused.map { $0.message.statusCode }, [503])
        XCTAssertEqual(refused.first?.message.headerValues("Retry-After"), ["1"])
        XCTAssertEqual(refused.first?.destination.host, "192.0.2.10")

        for n in 1...3 { // the agent calling out through the proxy: never limited
            proxy.receive(ProxyText.request("INVITE", uri: "sip:bluejay@192.0.2.20:5060", callID: "out-\(n)@agent",
                                            via: "SIP/2.0/UDP 198.51.100.1:5080;branch=z9hG4bK-u\(n)", body: ProxyText.sdp), from: upstream)
            XCTAssertEqual(env.drain().map { $0.message.isRequest ? $0.message.method : String($0.message.statusCode) }, ["100", "INVITE"])
        }
    }
}
