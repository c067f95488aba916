import Yams

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A kubeconfig file (`clusters`, `users`, `contexts`, `current-context`), as kubectl reads it.
///
/// Relative file paths inside the file (`certificate-authority`, `client-key`, `tokenFile`, …) are resolved against
/// the directory of the file they appear in. Turn a context into something a client can use with
/// `clientConfiguration(context:)`.
public struct KubeConfig: Sendable, Hashable {
    public struct Cluster: Sendable, Hashable, Codable {
        public var server: String?
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool?
        public var tlsServerName: String?

        public init(server: String? = nil) { self.server = server }

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
            case tlsServerName = "tls-server-name"
        }
    }

    public struct User: Sendable, Hashable, Codable {
        public var token: String?
        public var tokenFile: String?
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        /// Present when the user authenticates through an exec plugin, which Weft does not run.
        public var hasExecPlugin: Bool { exec != nil }
        var exec: PresentValue?
        var authProvider: PresentValue?

        public init(token: String? = nil) { self.token = token }

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    public struct Context: Sendable, Hashable, Codable {
        public var cluster: String?
        public var user: String?
        public var namespace: String?

        public init(cluster: String? = nil, user: String? = nil, namespace: String? = nil) {
            self.cluster = cluster
            self.user = user
            self.namespace = namespace
        }
    }

    /// A named entry of one of the three lists, with its position in the file for error messages.
    public struct Named<Value: Sendable & Hashable>: Sendable, Hashable {
        public var name: String
        public var value: Value
        /// The file it came from and its index in that file's list.
        public var file: String?
        public var index: Int
    }

    public var clusters: [Named<Cluster>]
    public var users: [Named<User>]
    public var contexts: [Named<Context>]
    public var currentContext: String?
    /// The files this configuration was read from, in order of precedence.
    public var files: [String]

    /// Reads and parses one kubeconfig file.
    public static func load(path: String) throws -> KubeConfig {
        let bytes = try FileAccess.read(path, field: nil, referencedFrom: nil)
        return try parse(yaml: String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// Reads the kubeconfig kubectl would use: the files listed in `$KUBECONFIG` (colon-separated, merged with the
    /// first file winning for each name and for `current-context`), else `$HOME/.kube/config`.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KubeConfig {
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let paths = list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
            let existing = paths.filter(FileAccess.exists)
            guard !existing.isEmpty else {
                throw KubeConfigError(
                    .noConfigFound, field: "KUBECONFIG",
                    message: "none of the files exist: \(paths.joined(separator: ", "))")
            }
            return try merge(existing.map { try load(path: $0) })
        }
        guard let home = environment["HOME"], !home.isEmpty else {
            throw KubeConfigError(.noConfigFound, field: "HOME", message: "neither KUBECONFIG nor HOME is set")
        }
        let path = home + "/.kube/config"
        guard FileAccess.exists(path) else {
            throw KubeConfigError(
                .noConfigFound, file: path, message: "KUBECONFIG is not set and \(path) does not exist")
        }
        return try load(path: path)
    }

    /// Merges several files as kubectl does: the first definition of a name wins, and the first `current-context`.
    public static func merge(_ configs: [KubeConfig]) -> KubeConfig {
        func mergeList<V: Sendable & Hashable>(_ lists: [[Named<V>]]) -> [Named<V>] {
            var seen = Set<String>()
            var out: [Named<V>] = []
            for entry in lists.joined() where seen.insert(entry.name).inserted { out.append(entry) }
            return out
        }
        return KubeConfig(
            clusters: mergeList(configs.map(\.clusters)),
            users: mergeList(configs.map(\.users)),
            contexts: mergeList(configs.map(\.contexts)),
            currentContext: configs.lazy.compactMap(\.currentContext).first { !$0.isEmpty },
            files: configs.flatMap(\.files))
    }

    /// Parses kubeconfig YAML. `file` is used to resolve relative paths and in error messages.
    public static func parse(yaml: String, file: String? = nil) throws -> KubeConfig {
        let raw: RawFile
        do {
            raw = try YAMLDecoder().decode(RawFile.self, from: yaml)
        } catch let error as DecodingError {
            throw KubeConfigError(.malformed, file: file, field: error.fieldPath, message: error.summary)
        } catch {
            throw KubeConfigError(.malformed, file: file, message: "not valid YAML: \(error)")
        }
        func named<V: Sendable & Hashable>(_ list: [RawNamed<V>]?, _ listName: String, _ itemKey: String) throws
            -> [Named<V>]
        {
            try (list ?? []).enumerated().map { index, entry in
                guard let name = entry.name, !name.isEmpty else {
                    throw KubeConfigError(
                        .missingField, file: file, field: "\(listName)[\(index)].name", message: "an entry needs a name"
                    )
                }
                guard let value = entry.value else {
                    throw KubeConfigError(
                        .missingField, file: file, field: "\(listName)[\(index)].\(itemKey)",
                        message: "entry '\(name)' has no \(itemKey)")
                }
                return Named(name: name, value: value, file: file, index: index)
            }
        }
        var config = KubeConfig(
            clusters: try named(
                raw.clusters?.map { RawNamed(name: $0.name, value: $0.cluster) }, "clusters", "cluster"),
            users: try named(raw.users?.map { RawNamed(name: $0.name, value: $0.user) }, "users", "user"),
            contexts: try named(
                raw.contexts?.map { RawNamed(name: $0.name, value: $0.context) }, "contexts", "context"),
            currentContext: raw.currentContext,
            files: file.map { [$0] } ?? [])
        // Resolve relative paths now, while we still know which file they came from.
        for i in config.clusters.indices {
            config.clusters[i].value.certificateAuthority = config.clusters[i].value.certificateAuthority.map {
                FileAccess.resolve($0, relativeTo: file)
            }
        }
        for i in config.users.indices {
            config.users[i].value.tokenFile = config.users[i].value.tokenFile.map {
                FileAccess.resolve($0, relativeTo: file)
            }
            config.users[i].value.clientCertificate = config.users[i].value.clientCertificate.map {
                FileAccess.resolve($0, relativeTo: file)
            }
            config.users[i].value.clientKey = config.users[i].value.clientKey.map {
                FileAccess.resolve($0, relativeTo: file)
            }
        }
        return config
    }

    /// The names of all contexts, in file order.
    public var contextNames: [String] { contexts.map(\.name) }

    /// The connection settings of a context (`nil`: `current-context`).
    ///
    /// Reads the files the cluster and user point at, decodes the `-data` fields, and checks that the pieces fit
    /// together (a client certificate needs its key).
    public func clientConfiguration(context name: String? = nil) throws -> ClientConfiguration {
        let firstFile = files.first
        guard let contextName = name ?? currentContext, !contextName.isEmpty else {
            throw KubeConfigError(
                .contextNotFound, file: firstFile, field: "current-context",
                message: "no context given and current-context is not set")
        }
        guard let context = contexts.first(where: { $0.name == contextName }) else {
            let known = contexts.map(\.name).joined(separator: ", ")
            throw KubeConfigError(
                .contextNotFound, file: firstFile, field: name == nil ? "current-context" : nil,
                message: "context '\(contextName)' not found (known: \(known.isEmpty ? "none" : known))")
        }
        let contextField = "contexts[\(context.index)].context"
        guard let clusterName = context.value.cluster, !clusterName.isEmpty else {
            throw KubeConfigError(
                .missingField, file: context.file, field: contextField + ".cluster",
                message: "context '\(contextName)' names no cluster")
        }
        guard let cluster = clusters.first(where: { $0.name == clusterName }) else {
            throw KubeConfigError(
                .clusterNotFound, file: context.file, field: contextField + ".cluster",
                message: "cluster '\(clusterName)' of context '\(contextName)' is not defined")
        }
        let c = cluster.value
        let clusterField = "clusters[\(cluster.index)].cluster"
        guard let server = c.server, !server.isEmpty else {
            throw KubeConfigError(
                .missingField, file: cluster.file, field: clusterField + ".server",
                message: "cluster '\(cluster.name)' has no server")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw KubeConfigError(
                .invalidValue, file: cluster.file, field: clusterField + ".server",
                message: "'\(server)' is not an http(s) URL")
        }
        var config = ClientConfiguration(
            server: server, insecureSkipTLSVerify: c.insecureSkipTLSVerify ?? false, tlsServerName: c.tlsServerName,
            namespace: context.value.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default")
        config.certificateAuthorityPEM = try Self.material(
            data: c.certificateAuthorityData, file: c.certificateAuthority, in: cluster.file,
            field: clusterField + ".certificate-authority")

        if let userName = context.value.user, !userName.isEmpty {
            guard let user = users.first(where: { $0.name == userName }) else {
                throw KubeConfigError(
                    .userNotFound, file: context.file, field: contextField + ".user",
                    message: "user '\(userName)' of context '\(contextName)' is not defined")
            }
            let u = user.value
            let userField = "users[\(user.index)].user"
            if u.exec != nil || u.authProvider != nil {
                throw KubeConfigError(
                    .invalidValue, file: user.file, field: userField + (u.exec != nil ? ".exec" : ".auth-provider"),
                    message: "credential plugins are not supported; use a token or a client certificate")
            }
            if let token = u.token, !token.isEmpty {
                config.credentials = .token(token)
            } else if let tokenFile = u.tokenFile, !tokenFile.isEmpty {
                _ = try FileAccess.read(tokenFile, field: userField + ".tokenFile", referencedFrom: user.file)
                config.credentials = .tokenFile(tokenFile)
            }
            config.clientCertificatePEM = try Self.material(
                data: u.clientCertificateData, file: u.clientCertificate, in: user.file,
                field: userField + ".client-certificate")
            config.clientKeyPEM = try Self.material(
                data: u.clientKeyData, file: u.clientKey, in: user.file, field: userField + ".client-key")
            if (config.clientCertificatePEM == nil) != (config.clientKeyPEM == nil) {
                let missing = config.clientKeyPEM == nil ? "client-key" : "client-certificate"
                throw KubeConfigError(
                    .missingField, file: user.file, field: "\(userField).\(missing)",
                    message: "user '\(user.name)' has a client \(missing == "client-key" ? "certificate" : "key") "
                        + "but no \(missing) or \(missing)-data")
            }
        }
        return config
    }

    /// PEM bytes from a `-data` field (base64, wins) or from the file a path field names.
    static func material(data: String?, file path: String?, in configFile: String?, field: String) throws -> [UInt8]? {
        if let data, !data.isEmpty {
            let compact = data.filter { !$0.isWhitespace }
            guard let decoded = Data(base64Encoded: compact) else {
                throw KubeConfigError(
                    .invalidValue, file: configFile, field: field + "-data", message: "not valid base64")
            }
            return Array(decoded)
        }
        if let path, !path.isEmpty {
            return try FileAccess.read(path, field: field, referencedFrom: configFile)
        }
        return nil
    }
}

// MARK: - The file's shape

/// Any YAML value, ignored; used only to notice keys Weft refuses (`exec`, `auth-provider`).
struct PresentValue: Sendable, Hashable, Codable {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}

private struct RawNamed<V> {
    var name: String?
    var value: V?
}

private struct RawFile: Decodable {
    struct NamedCluster: Decodable {
        var name: String?
        var cluster: KubeConfig.Cluster?
    }
    struct NamedUser: Decodable {
        var name: String?
        var user: KubeConfig.User?
    }
    struct NamedContext: Decodable {
        var name: String?
        var context: KubeConfig.Context?
    }
    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}

extension DecodingError {
    /// `clusters[0].cluster.server` for the coding path of the error.
    var fieldPath: String? {
        let path: [any CodingKey]
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        @unknown default: return nil
        }
        var s = ""
        for key in path {
            if let i = key.intValue {
                s += "[\(i)]"
            } else {
                s += s.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return s.isEmpty ? nil : s
    }

    var summary: String {
        switch self {
        case .typeMismatch(let type, _): return "expected a value of type \(type)"
        case .valueNotFound(let type, _): return "expected a value of type \(type), found none"
        case .keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(self)"
        }
    }
}
