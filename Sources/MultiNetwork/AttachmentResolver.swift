import KubeModel
import WeftNet

/// Which namespaces a pod may take NetworkAttachmentDefinitions from.
///
/// Multus's rule (`namespaceIsolation` and `globalNamespaces` in its configuration): by default a pod may name an
/// attachment in any namespace (`other-ns/net-b`). With `namespaceIsolation` set, a pod may name only attachments
/// in its own namespace or in one of the shared namespaces — `default` unless configured otherwise. The spec
/// leaves access control to the implementation (§4.1.2: "the implementation may restrict access").
public struct CrossNamespacePolicy: Sendable, Hashable {
    /// When false (the default, as Multus), every namespace is allowed.
    public var namespaceIsolation: Bool
    /// Namespaces every pod may use under isolation (Multus's `globalNamespaces`, default `default`).
    public var sharedNamespaces: Set<String>

    public init(namespaceIsolation: Bool = false, sharedNamespaces: Set<String> = ["default"]) {
        self.namespaceIsolation = namespaceIsolation
        self.sharedNamespaces = sharedNamespaces
    }

    /// Any namespace (Multus's default).
    public static let allowAll = CrossNamespacePolicy()
    /// The pod's own namespace and `default`.
    public static let isolated = CrossNamespacePolicy(namespaceIsolation: true)

    public func permits(podNamespace: String, attachmentNamespace: String) -> Bool {
        !namespaceIsolation || attachmentNamespace == podNamespace || sharedNamespaces.contains(attachmentNamespace)
    }
}

/// A NetworkAttachmentDefinition's `spec.config`, always as a configuration list (CNI SPEC §1): a single plugin
/// configuration is wrapped as a one-plugin list, as libcni's `ConfListFromConf` does, so one code path runs both.
public struct AttachmentConfig: Sendable, Hashable {
    /// The CNI network name (the list's `name`; the NAD's name when the config has none).
    public var networkName: String
    public var cniVersion: String
    /// The plugin objects, in execution order; each has a `type` that is a file name.
    public var plugins: [JSONValue]
    /// The whole list (`name`, `cniVersion`, `plugins` and any other top-level keys of a conflist).
    public var conflist: JSONValue

    /// Parses `spec.config` of the NAD called `attachment` (`namespace/name`, for messages) whose object name is
    /// `nadName`. Multus (network-attachment-definition-client `GetCNIConfigFromSpec`) injects the NAD's name when
    /// the config has none; so does this.
    public static func parse(_ config: String?, attachment: String, nadName: String) throws(MultiNetworkError)
        -> AttachmentConfig
    {
        guard let config, !config.trimmed.isEmpty else { throw .configFromFileUnsupported(attachment) }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: config)
        } catch {
            throw .invalidConfig(attachment: attachment, reason: "is not JSON: \(error.description)")
        }
        guard case .object(var object) = value else {
            throw .invalidConfig(attachment: attachment, reason: "is \(value.kindName), not a JSON object")
        }
        func fail(_ reason: String) -> MultiNetworkError { .invalidConfig(attachment: attachment, reason: reason) }

        // A conflist has "plugins"; a single configuration has "type" (libcni's and Multus's test).
        if object["plugins"] == nil {
            guard object["type"] != nil else {
                throw fail("has neither \"type\" (a plugin configuration) nor \"plugins\" (a configuration list)")
            }
            var wrapper: [String: JSONValue] = ["plugins": .array([.object(object)])]
            wrapper["name"] = object["name"]
            wrapper["cniVersion"] = object["cniVersion"]
            object = wrapper
        }
        switch object["name"] {
        case nil, .null?, .string("")?: object["name"] = .string(nadName)
        case .string?: break
        default: throw fail("has a \"name\" that is not a string")
        }
        let name = object["name"]?.stringValue ?? nadName
        guard isIdentifier(name) else {
            throw fail(
                "has network name \"\(name)\"; it must start with a letter or digit, followed by letters, digits, "
                    + "'_', '.' or '-'")
        }
        guard case .string(let version)? = object["cniVersion"], !version.isEmpty else {
            throw fail("has no \"cniVersion\"")
        }
        guard case .array(let plugins)? = object["plugins"], !plugins.isEmpty else {
            throw fail("has an empty or invalid \"plugins\" list")
        }
        for (n, plugin) in plugins.enumerated() {
            guard case .object(let p) = plugin else { throw fail("plugin \(n) is \(plugin.kindName), not an object") }
            guard case .string(let type)? = p["type"], !type.isEmpty else {
                throw fail("plugin \(n) has no string \"type\"")
            }
            guard type != ".", type != "..", !type.contains("/") else {
                throw fail("plugin \(n) has type \"\(type)\", which is not a file name")
            }
        }
        return AttachmentConfig(networkName: name, cniVersion: version, plugins: plugins, conflist: .object(object))
    }

    /// A letter or digit, then letters, digits, `_`, `.` and `-` (CNI SPEC §1 network names; also a cache-file
    /// name part).
    static func isIdentifier(_ text: String) -> Bool {
        func alnum(_ b: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }
        let bytes = Array(text.utf8)
        guard let first = bytes.first, alnum(first) else { return false }
        return bytes.dropFirst().allSatisfy {
            alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }
}

/// A selection with its NetworkAttachmentDefinition found and its configuration parsed.
public struct ResolvedAttachment: Sendable, Hashable {
    public var selection: NetworkSelection
    /// The NAD's namespace (the selection's, else the pod's).
    public var namespace: String
    /// `namespace/name`: how the network-status annotation and messages name it.
    public var qualifiedName: String { "\(namespace)/\(selection.name)" }
    public var config: AttachmentConfig
}

/// Finds each selection's NetworkAttachmentDefinition and parses its configuration.
public struct AttachmentResolver: Sendable {
    public var policy: CrossNamespacePolicy

    public init(policy: CrossNamespacePolicy = .allowAll) { self.policy = policy }

    /// Resolves `selections` for a pod in `podNamespace`; `lookup(namespace, name)` returns the NAD or `nil`.
    /// The first problem is thrown, in annotation order: the pod fails before anything is attached.
    public func resolve(
        _ selections: [NetworkSelection], podNamespace: String,
        lookup: (_ namespace: String, _ name: String) -> NetworkAttachmentDefinition?
    ) throws(MultiNetworkError) -> [ResolvedAttachment] {
        var out: [ResolvedAttachment] = []
        for selection in selections {
            let namespace = selection.namespace ?? podNamespace
            let qualified = "\(namespace)/\(selection.name)"
            // Checked before the lookup, so a pod cannot probe which NADs exist in a namespace it may not use.
            guard policy.permits(podNamespace: podNamespace, attachmentNamespace: namespace) else {
                throw .crossNamespaceDenied(attachment: qualified, podNamespace: podNamespace)
            }
            guard let nad = lookup(namespace, selection.name) else { throw .attachmentNotFound(qualified) }
            let config = try AttachmentConfig.parse(nad.spec?.config, attachment: qualified, nadName: selection.name)
            out.append(ResolvedAttachment(selection: selection, namespace: namespace, config: config))
        }
        return out
    }

    /// Resolves against a list of NADs (e.g. an informer's store).
    public func resolve(
        _ selections: [NetworkSelection], podNamespace: String, definitions: [NetworkAttachmentDefinition]
    ) throws(MultiNetworkError) -> [ResolvedAttachment] {
        var index: [String: NetworkAttachmentDefinition] = [:]
        for nad in definitions {
            index["\(nad.metadata.namespace ?? "default")/\(nad.metadata.name ?? "")"] = nad
        }
        return try resolve(selections, podNamespace: podNamespace) { index["\($0)/\($1)"] }
    }
}
