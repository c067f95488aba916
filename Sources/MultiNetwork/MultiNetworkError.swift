/// Why a pod's secondary networks cannot be attached. Every case names what was wrong and where, so the message
/// can go straight into the pod's event (issue 9, "Bad input": "a message naming the problem").
public enum MultiNetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `k8s.v1.cni.cncf.io/networks` annotation is not valid JSON, or not a JSON list of objects.
    case malformedJSON(String)
    /// Entry `index` (1-based, in annotation order) of the annotation is invalid: `field` and the reason.
    case invalidSelection(index: Int, field: String, reason: String)
    /// Two attachments (or an attachment and the cluster network) ask for the same interface name.
    case duplicateInterface(String, first: String, second: String)
    /// More than one attachment asks for the default route of one address family (Multus: no ECMP).
    case conflictingDefaultRoutes(family: String, networks: [String])
    /// The NetworkAttachmentDefinition `namespace/name` does not exist.
    case attachmentNotFound(String)
    /// The pod may not use an attachment in another namespace (`CrossNamespacePolicy`).
    case crossNamespaceDenied(attachment: String, podNamespace: String)
    /// The NetworkAttachmentDefinition has no `spec.config`; Multus would then read a file named after it from its
    /// configuration directory, which Weft does not do.
    case configFromFileUnsupported(String)
    /// The NetworkAttachmentDefinition's `spec.config` is not a usable CNI configuration.
    case invalidConfig(attachment: String, reason: String)

    public var description: String {
        switch self {
        case .malformedJSON(let why):
            return "annotation k8s.v1.cni.cncf.io/networks is malformed JSON: \(why)"
        case .invalidSelection(let index, let field, let reason):
            return "annotation k8s.v1.cni.cncf.io/networks, network \(index): \(field) \(reason)"
        case .duplicateInterface(let name, let first, let second):
            return "interface name \"\(name)\" is requested twice: by \(first) and by \(second)"
        case .conflictingDefaultRoutes(let family, let networks):
            return
                "more than one network asks for the IPv\(family) default route (\(networks.joined(separator: ", "))); "
                + "equal-cost default routes are not supported"
        case .attachmentNotFound(let name):
            return "NetworkAttachmentDefinition \(name) not found"
        case .crossNamespaceDenied(let attachment, let podNamespace):
            return "NetworkAttachmentDefinition \(attachment) is in another namespace than the pod's (\(podNamespace)) "
                + "and namespace isolation forbids it"
        case .configFromFileUnsupported(let name):
            return "NetworkAttachmentDefinition \(name) has no spec.config; reading the configuration from a file in "
                + "the CNI configuration directory (as Multus does) is not supported"
        case .invalidConfig(let attachment, let reason):
            return "NetworkAttachmentDefinition \(attachment): spec.config \(reason)"
        }
    }
}
