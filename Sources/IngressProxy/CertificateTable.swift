import KubeModel

/// Server names → certificates, per HTTPS port: Ingress TLS hosts on the Ingress HTTPS port and HTTPS listeners'
/// hostnames on theirs. The most specific pattern covering the name wins (exact, then the longest wildcard, then
/// a host-less entry), the one added first among equals; nothing covering it means the default certificate.
struct CertificateTable: Sendable {
    private struct Entry: Sendable {
        var host: HostPattern
        var secret: ObjectKey
    }

    private var entries: [Int: [Entry]] = [:]

    mutating func add(port: Int, host: HostPattern, secret: ObjectKey) {
        entries[port, default: []].append(Entry(host: host, secret: secret))
    }

    func certificate(port: Int, serverName: String?) -> CertificateChoice {
        var name = (serverName ?? "").lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let covering = (entries[port] ?? []).enumerated().filter { $0.element.host.matches(name) }
        let best = covering.min { ($0.element.host, $0.offset) < ($1.element.host, $1.offset) }
        return best.map { .secret($0.element.secret) } ?? .default
    }

    /// Why `secret` cannot serve TLS, or `nil` when it can: it must exist, be of type `kubernetes.io/tls` and
    /// hold non-empty `tls.crt` and `tls.key` (the certificate itself is parsed by the proxy when it loads it).
    static func problem(with secret: Secret?, key: ObjectKey) -> String? {
        guard let secret else { return "secret \(key) not found" }
        guard secret.type == "kubernetes.io/tls" else {
            return "secret \(key) is of type \(secret.type ?? "Opaque"), not kubernetes.io/tls"
        }
        for field in ["tls.crt", "tls.key"] where (secret.value(forKey: field) ?? []).isEmpty {
            return "secret \(key) has no \(field)"
        }
        return nil
    }
}
