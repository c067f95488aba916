import Crypto
import KubeModel
import NIOSSL
import X509

/// A certificate chain and its private key, parsed and checked: what a `kubernetes.io/tls` Secret holds.
public struct TLSCertificate: Sendable {
    /// Why a certificate cannot be loaded.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// The chain, leaf first.
    public let chain: [NIOSSLCertificate]
    public let key: NIOSSLPrivateKey

    public init(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        self.chain = chain
        self.key = key
    }

    /// Parses PEM: `certificatePEM` holds the leaf and any intermediates, `keyPEM` the leaf's private key, which
    /// must belong to the leaf.
    public init(certificatePEM: [UInt8], keyPEM: [UInt8]) throws {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificatePEM)
        } catch {
            throw Problem("tls.crt is not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw Problem("tls.crt holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)
        } catch {
            throw Problem("tls.key is not a PEM private key (\(error))")
        }
        // BoringSSL would only notice a key of another certificate in the middle of a handshake.
        let certificateText = String(decoding: certificatePEM, as: UTF8.self)
        let keyText = String(decoding: keyPEM, as: UTF8.self)
        if let leaf = try? X509.Certificate(pemEncoded: certificateText),
            let privateKey = try? X509.Certificate.PrivateKey(pemEncoded: keyText),
            leaf.publicKey != privateKey.publicKey
        {
            throw Problem("tls.key does not belong to the first certificate of tls.crt")
        }
        self.init(chain: chain, key: key)
    }

    /// The certificate of a `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`, base64-decoded by `Secret`).
    public init(secret: Secret) throws {
        guard let certificate = secret.value(forKey: "tls.crt"), !certificate.isEmpty else {
            throw Problem("secret has no tls.crt")
        }
        guard let key = secret.value(forKey: "tls.key"), !key.isEmpty else { throw Problem("secret has no tls.key") }
        try self.init(certificatePEM: certificate, keyPEM: key)
    }
}
