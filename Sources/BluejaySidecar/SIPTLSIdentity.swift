import Foundation
import NIOSSL

/// The certificate and key of the `tls://` SIP listeners (`--tls-cert`, `--tls-key`, PEM). Loaded and checked
/// when the configuration is resolved, so `config check` and a SIGHUP with bad files say what is wrong and
/// the running identity stays. Errors name the setting and the path, never the key's contents.
struct SIPTLSIdentity: Sendable {
    let context: NIOSSLContext
    let certificatePath: String
    let keyPath: String

    init(certificatePath: String, keyPath: String) throws {
        for (key, path) in [("tls_cert", certificatePath), ("tls_key", keyPath)] {
            guard FileManager.default.fileExists(atPath: path) else { throw ConfigError.unusable("\(key) \(path) does not exist") }
            guard FileManager.default.isReadableFile(atPath: path) else { throw ConfigError.unusable("cannot read \(key) \(path)") }
        }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch { chain = [] }
        guard !chain.isEmpty else {
            throw ConfigError.unusable("tls_cert \(certificatePath) holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw ConfigError.unusable("tls_key \(keyPath) holds no unencrypted PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                    privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do { context = try NIOSSLContext(configuration: configuration) } catch {
            throw ConfigError.unusable("tls_key \(keyPath) does not match tls_cert \(certificatePath)")
        }
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// The identity new TLS connections are handed: replaced on SIGHUP (on the SIP loop, where connections are
/// accepted), so a renewed certificate needs no restart; connections already up keep the one they started with.
final class LiveTLSIdentity {
    var current: SIPTLSIdentity

    init(_ identity: SIPTLSIdentity) { current = identity }
}
