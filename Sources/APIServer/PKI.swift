import Crypto
import Foundation
import SwiftASN1
import WeftNet
import X509

/// The server's certificates: a CA (ECDSA P-256, 10 years) and a serving certificate it signs for `localhost`,
/// `127.0.0.1`, `::1` and any extra names. Stored as PEM in `DATADIR/pki` and reused on restart; the serving
/// certificate is re-issued when the wanted names change or it is about to expire.
struct PKI: Sendable {
    /// PEM of the CA certificate (what a kubeconfig's `certificate-authority-data` carries).
    var caCertificatePEM: String
    /// PEM of the serving certificate.
    var servingCertificatePEM: String
    /// PEM (PKCS#8) of the serving key.
    var servingKeyPEM: String

    /// Loads the PKI from `directory`, creating whatever is missing.
    static func loadOrCreate(directory: String, subjectAlternativeNames: [String]) throws -> PKI {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let caCertPath = directory + "/ca.crt"
        let caKeyPath = directory + "/ca.key"
        let certPath = directory + "/apiserver.crt"
        let keyPath = directory + "/apiserver.key"

        let caKey: P256.Signing.PrivateKey
        let caCertificate: Certificate
        if let certPEM = try? String(contentsOfFile: caCertPath, encoding: .utf8),
            let keyPEM = try? String(contentsOfFile: caKeyPath, encoding: .utf8)
        {
            caKey = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
            caCertificate = try Certificate(pemEncoded: certPEM)
        } else {
            caKey = P256.Signing.PrivateKey()
            caCertificate = try makeCA(key: caKey)
            try writeSecret(caKey.pemRepresentation, to: caKeyPath)
            try writeSecret(try caCertificate.serializeAsPEM().pemString, to: caCertPath)
        }

        let names = Array(Set(["localhost", "127.0.0.1", "::1"] + subjectAlternativeNames)).sorted()
        if let certPEM = try? String(contentsOfFile: certPath, encoding: .utf8),
            let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8),
            let certificate = try? Certificate(pemEncoded: certPEM),
            certificate.issuer == caCertificate.subject,
            certificate.notValidAfter > Date().addingTimeInterval(30 * 86400),
            Set(try sanStrings(certificate)) == Set(names)
        {
            return PKI(
                caCertificatePEM: try caCertificate.serializeAsPEM().pemString, servingCertificatePEM: certPEM,
                servingKeyPEM: keyPEM)
        }
        let key = P256.Signing.PrivateKey()
        let certificate = try makeServing(key: key, names: names, caKey: caKey, ca: caCertificate)
        let certPEM = try certificate.serializeAsPEM().pemString
        try writeSecret(key.pemRepresentation, to: keyPath)
        try writeSecret(certPEM, to: certPath)
        return PKI(
            caCertificatePEM: try caCertificate.serializeAsPEM().pemString, servingCertificatePEM: certPEM,
            servingKeyPEM: key.pemRepresentation)
    }

    private static func makeCA(key: P256.Signing.PrivateKey) throws -> Certificate {
        let name = try DistinguishedName {
            OrganizationName("weft")
            CommonName("weft-apiserver-ca")
        }
        let now = Date()
        let publicKey = Certificate.PublicKey(key.publicKey)
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    private static func makeServing(
        key: P256.Signing.PrivateKey, names: [String], caKey: P256.Signing.PrivateKey, ca: Certificate
    ) throws -> Certificate {
        let subject = try DistinguishedName { CommonName("weft-apiserver") }
        let now = Date()
        let generalNames: [GeneralName] = names.map { name in
            if let address = IPAddress(name) {
                return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.bytes)))
            }
            return .dnsName(name)
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(generalNames)
                AuthorityKeyIdentifier(
                    keyIdentifier: SubjectKeyIdentifier(hash: Certificate.PublicKey(caKey.publicKey)).keyIdentifier)
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
    }

    /// The SAN entries of a certificate as text (`localhost`, `127.0.0.1`, `::1`).
    static func sanStrings(_ certificate: Certificate) throws -> [String] {
        guard let sans = try certificate.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { name in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let octets): return IPAddress(bytes: octets.bytes)?.description
            default: return nil
            }
        }
    }

    /// Writes a file readable by its owner only.
    static func writeSecret(_ text: String, to path: String) throws {
        let created = FileManager.default.createFile(
            atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        if !created { throw APIServerError.cannotWrite(path: path) }
    }
}
