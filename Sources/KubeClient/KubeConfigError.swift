/// What went wrong while loading a kubeconfig file or the in-cluster configuration, and where.
public struct KubeConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The file could not be read (missing, unreadable).
        case unreadableFile
        /// The file is not valid YAML, or a field has the wrong type.
        case malformed
        /// A required field is absent or empty.
        case missingField
        /// A field has a value that cannot be used (bad base64, bad URL, …).
        case invalidValue
        /// No context of that name, or no context selected at all.
        case contextNotFound
        /// The context names a cluster that the file does not define.
        case clusterNotFound
        /// The context names a user that the file does not define.
        case userNotFound
        /// No kubeconfig file was found (`$KUBECONFIG`, `~/.kube/config`).
        case noConfigFound
        /// Not running in a pod: `KUBERNETES_SERVICE_HOST`/`_PORT` unset.
        case notInCluster
    }

    public var kind: Kind
    /// The file the problem was found in, when there is one.
    public var file: String?
    /// The field, as a path (`clusters[0].cluster.server`, `users[admin].user.client-key-data`).
    public var field: String?
    public var message: String

    public init(_ kind: Kind, file: String? = nil, field: String? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String {
        var s = ""
        if let file { s += "\(file): " }
        if let field { s += "\(field): " }
        return s + message
    }
}
