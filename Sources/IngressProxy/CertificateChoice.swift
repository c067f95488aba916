/// Which certificate a TLS handshake gets: a `kubernetes.io/tls` Secret, or the proxy's default certificate
/// when no Ingress TLS host or HTTPS listener covers the server name.
public enum CertificateChoice: Sendable, Hashable {
    case secret(ObjectKey)
    case `default`
}
