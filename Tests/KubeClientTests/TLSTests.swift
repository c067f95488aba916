import Crypto
import Foundation
import KubeClient
import NIOSSL
import SwiftASN1
import Testing
import X509

/// A CA made for one test, and certificates it signs.
struct TestCA {
    let key = P256.Signing.PrivateKey()
    let name: DistinguishedName
    let certificate: Certificate

    init(_ commonName: String = "weft test CA") throws {
        name = try DistinguishedName { CommonName(commonName) }
        certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date() - 3600, notValidAfter: Date() + 3600, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key))
    }

    var pem: [UInt8] { Array(try! certificate.serializeAsPEM().pemString.utf8) }

    /// A leaf certificate and its key, both PEM.
    func issue(_ commonName: String, dns: [String] = [], ips: [[UInt8]] = []) throws -> (cert: [UInt8], key: [UInt8]) {
        let leafKey = P256.Signing.PrivateKey()
        let names =
            dns.map { GeneralName.dnsName($0) }
            + ips.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: Date() - 3600, notValidAfter: Date() + 3600, issuer: name,
            subject: try DistinguishedName { CommonName(commonName) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                if !names.isEmpty { SubjectAlternativeNames(names) }
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
            },
            issuerPrivateKey: .init(key))
        return (Array(try leaf.serializeAsPEM().pemString.utf8), Array(leafKey.pemRepresentation.utf8))
    }

    func serverContext(dns: [String] = [], ips: [[UInt8]] = [], requireClientCertificate: Bool = false) throws
        -> NIOSSLContext
    {
        let (cert, key) = try issue("apiserver", dns: dns, ips: ips)
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem)))
        if requireClientCertificate {
            config.certificateVerification = .noHostnameVerification
            config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(pem))
        }
        return try NIOSSLContext(configuration: config)
    }
}

/// Lists against a TLS fake server with the given client configuration changes; returns whether it worked.
func listOverTLS(_ context: NIOSSLContext, _ configure: (inout ClientConfiguration) -> Void) async throws -> Bool {
    let server = try await FakeAPIServer(tls: context)
    // A failed handshake is retried by the connection pool until the request's deadline: keep it short.
    var config = ClientConfiguration(server: server.url, requestTimeout: .seconds(2))
    configure(&config)
    let ok: Bool
    do {
        ok = try await KubeClient.withClient(config) { client in
            do {
                _ = try await client.list(TestConfigMap.self)
                return true
            } catch {
                return false
            }
        }
    } catch {
        try? await server.shutdown()
        throw error
    }
    try await server.shutdown()
    return ok
}

@Suite("TLS")
struct TLSTests {
    static let loopback: [UInt8] = [127, 0, 0, 1]

    @Test func theConfiguredCAIsTheOnlyTrustRoot() async throws {
        let ca = try TestCA()
        let other = try TestCA("another CA")
        let context = try ca.serverContext(ips: [Self.loopback])
        #expect(try await listOverTLS(context) { $0.certificateAuthorityPEM = ca.pem })
        #expect(try await !listOverTLS(context) { $0.certificateAuthorityPEM = other.pem })
        #expect(try await !listOverTLS(context) { _ in })  // system roots do not know the test CA
        #expect(try await listOverTLS(context) { $0.insecureSkipTLSVerify = true })
    }

    @Test func tlsServerNameIsVerifiedInsteadOfTheHost() async throws {
        let ca = try TestCA()
        let context = try ca.serverContext(dns: ["kube.test"])
        #expect(try await !listOverTLS(context) { $0.certificateAuthorityPEM = ca.pem })
        #expect(
            try await listOverTLS(context) {
                $0.certificateAuthorityPEM = ca.pem
                $0.tlsServerName = "kube.test"
            })
        #expect(
            try await !listOverTLS(context) {
                $0.certificateAuthorityPEM = ca.pem
                $0.tlsServerName = "other.test"
            })
    }

    @Test func clientCertificateAuthenticates() async throws {
        let ca = try TestCA()
        let context = try ca.serverContext(ips: [Self.loopback], requireClientCertificate: true)
        let (cert, key) = try ca.issue("admin")
        #expect(try await !listOverTLS(context) { $0.certificateAuthorityPEM = ca.pem })
        #expect(
            try await listOverTLS(context) {
                $0.certificateAuthorityPEM = ca.pem
                $0.clientCertificatePEM = cert
                $0.clientKeyPEM = key
            })
    }

    @Test func unusableMaterialIsNamed() {
        var config = ClientConfiguration(server: "https://127.0.0.1:1", certificateAuthorityPEM: Array("junk".utf8))
        let error = #expect(throws: KubeClientError.self) { _ = try KubeClient(configuration: config) }
        guard case .invalidTLSMaterial(let field, _) = error else {
            Issue.record("expected invalidTLSMaterial, got \(String(describing: error))")
            return
        }
        #expect(field == "certificate-authority")
        config = ClientConfiguration(server: "not a url")
        #expect(throws: KubeClientError.invalidServer("not a url")) { _ = try KubeClient(configuration: config) }
    }
}
