import KubeModel

/// What the server knows about each kind beyond `ResourceInfo`: whether it has a `/status` or `/scale` subresource,
/// which names are valid, and which columns `kubectl get` shows. Kept here so that storage stays generic.
struct ResourceRules: Sendable {
    /// The kinds served with a `/status` subresource: their main endpoint ignores status changes.
    static let withStatus: Set<String> = [
        "/namespaces", "/nodes", "/pods", "/services", "apps/deployments", "apps/daemonsets",
        "networking.k8s.io/ingresses", "gateway.networking.k8s.io/gatewayclasses",
        "gateway.networking.k8s.io/gateways", "gateway.networking.k8s.io/httproutes",
        "policy.networking.k8s.io/adminnetworkpolicies", "policy.networking.k8s.io/baselineadminnetworkpolicies",
    ]

    /// The kinds served with a `/scale` subresource (`Registry+Scale`).
    static let withScale: Set<String> = ["apps/deployments"]

    /// The rule names of a kind follow.
    enum NameRule {
        /// RFC 1123 subdomain: most kinds.
        case subdomain
        /// RFC 1123 label: namespaces.
        case label
        /// RFC 1035 label: services.
        case dns1035Label
    }

    /// The `kubectl get all` category.
    static let inAllCategory: Set<String> = ["/pods", "/services", "apps/deployments", "apps/daemonsets"]

    static func hasStatus(_ resource: ResourceInfo) -> Bool { withStatus.contains(resource.storageKey) }

    static func hasScale(_ resource: ResourceInfo) -> Bool { withScale.contains(resource.storageKey) }

    static func nameRule(_ resource: ResourceInfo) -> NameRule {
        switch resource.storageKey {
        case "/namespaces": .label
        case "/services": .dns1035Label
        default: .subdomain
        }
    }

    /// The singular name discovery reports (`networkpolicy`).
    static func singular(_ resource: ResourceInfo) -> String { resource.kind.lowercased() }
}

/// Validation of names as kube-apiserver does it, with its messages.
enum NameValidation {
    /// The error messages for a name, empty when valid.
    static func errors(_ name: String, rule: ResourceRules.NameRule) -> [String] {
        switch rule {
        case .subdomain:
            var errors: [String] = []
            if name.count > 253 { errors.append("must be no more than 253 characters") }
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            if !labels.allSatisfy({ isLabel($0, firstMayBeDigit: true) }) {
                errors.append(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                        + "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                        + "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
            }
            return errors
        case .label:
            var errors: [String] = []
            if name.count > 63 { errors.append("must be no more than 63 characters") }
            if !isLabel(Substring(name), firstMayBeDigit: true) {
                errors.append(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                        + "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                        + "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
            }
            return errors
        case .dns1035Label:
            var errors: [String] = []
            if name.count > 63 { errors.append("must be no more than 63 characters") }
            if !isLabel(Substring(name), firstMayBeDigit: false) {
                errors.append(
                    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                        + "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
                        + "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
            }
            return errors
        }
    }

    private static func isLabel(_ text: Substring, firstMayBeDigit: Bool) -> Bool {
        guard let first = text.first, let last = text.last else { return false }
        func alnum(_ c: Character) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        if firstMayBeDigit ? !alnum(first) : !("a"..."z").contains(first) { return false }
        if !alnum(last) { return false }
        return text.allSatisfy { alnum($0) || $0 == "-" }
    }
}
