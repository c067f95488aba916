import Crypto
import Foundation
import SwiftASN1
import WeftNet
import X509

/// The certificate served when no Secret covers a handshake's server name and none was configured: self-signed
/// (ECDSA P-256, one year), made at start. The API server's `PKI` is internal to `APIServer` and writes its CA to
/// disk, so this small generator stands on its own.
public enum DefaultCertificate {
    /// A self-signed certificate for `names` (DNS names or IP addresses) and its key, as PEM.
    public static func selfSigned(
        commonName: String = "weft-ingress-default", names: [String] = ["weft-ingress.invalid"]
    ) throws -> (certificatePEM: String, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("weft")
            CommonName(commonName)
        }
        let now = Date()
        let generalNames: [GeneralName] = names.map { name in
            if let address = IPAddress(name) {
                return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.bytes)))
            }
            return .dnsName(name)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(generalNames)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    /// `selfSigned` parsed for serving.
    public static func make() throws -> TLSCertificate {
        let pem = try selfSigned()
        return try TLSCertificate(certificatePEM: Array(pem.certificatePEM.utf8), keyPEM: Array(pem.keyPEM.utf8))
    }
}
