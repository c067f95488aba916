#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ClientConfiguration {
    /// Where a pod finds its service account.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration of a process running in a pod: the API server at `KUBERNETES_SERVICE_HOST` and
    /// `KUBERNETES_SERVICE_PORT`, the service account's `token` (re-read as it rotates), `ca.crt` as the only trust
    /// root, and `namespace` as the default namespace.
    ///
    /// - Parameters:
    ///   - environment: the process environment (injectable for tests).
    ///   - directory: the service-account directory (injectable for tests).
    /// - Throws: `KubeConfigError` with kind `.notInCluster` when the variables are unset, `.unreadableFile` naming
    ///   the file when the token or CA cannot be read.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = serviceAccountDirectory
    ) throws -> ClientConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubeConfigError(
                .notInCluster, field: "KUBERNETES_SERVICE_HOST",
                message: "not running in a cluster: KUBERNETES_SERVICE_HOST is not set")
        }
        guard let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw KubeConfigError(
                .notInCluster, field: "KUBERNETES_SERVICE_PORT",
                message: "not running in a cluster: KUBERNETES_SERVICE_PORT is not set")
        }
        guard let portNumber = UInt16(port) else {
            throw KubeConfigError(
                .invalidValue, field: "KUBERNETES_SERVICE_PORT", message: "'\(port)' is not a port number")
        }
        let tokenPath = directory + "/token"
        let token = try FileAccess.read(tokenPath, field: nil, referencedFrom: nil)
        if String(decoding: token, as: UTF8.self).trimmedWhitespace.isEmpty {
            throw KubeConfigError(.invalidValue, file: tokenPath, message: "the service-account token is empty")
        }
        let ca = try FileAccess.read(directory + "/ca.crt", field: nil, referencedFrom: nil)
        var namespace = "default"
        let namespacePath = directory + "/namespace"
        if FileAccess.exists(namespacePath) {
            let text = String(
                decoding: try FileAccess.read(namespacePath, field: nil, referencedFrom: nil), as: UTF8.self
            )
            .trimmedWhitespace
            if !text.isEmpty { namespace = text }
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return ClientConfiguration(
            server: "https://\(hostPart):\(portNumber)",
            certificateAuthorityPEM: ca,
            credentials: .tokenFile(tokenPath),
            namespace: namespace)
    }
}
