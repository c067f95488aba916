import Foundation
import KubeModel
import WeftNet

/// Field validation of some kinds' specs on create and update, as kube-apiserver's (pkg/apis/…/validation, and for
/// the admin policy CRDs their schemas): the problems become one 422 Invalid with a cause per field
/// (`spec.ingress[0].ports[0].endPort`). Kinds not listed here are stored as they come.
enum Validation {
    /// Throws 422 Invalid when `object` (defaulted, about to be stored) has invalid fields, 400 when it does not
    /// decode as its kind.
    static func validate(_ resource: ResourceInfo, _ object: JSONValue) throws {
        func decoded<T: KubeObject>(_ type: T.Type) throws -> T {
            do {
                return try object.decoded(as: T.self)
            } catch {
                throw Status.badRequest(
                    "\(resource.kind) in version \"\(resource.version)\" cannot be handled as a \(resource.kind): "
                        + "\(error)")
            }
        }
        let causes: [Status.Cause]
        switch resource.storageKey {
        case Resources.networkPolicy.storageKey: causes = networkPolicy(try decoded(NetworkPolicy.self))
        case Resources.adminNetworkPolicy.storageKey:
            causes = adminNetworkPolicy(try decoded(AdminNetworkPolicy.self))
        case Resources.baselineAdminNetworkPolicy.storageKey:
            causes = baselineAdminNetworkPolicy(try decoded(BaselineAdminNetworkPolicy.self))
        default:
            return
        }
        if !causes.isEmpty {
            throw Status.invalid(resource, name: object.metadataString("name") ?? "", causes: causes)
        }
    }

    // MARK: NetworkPolicy (networking.k8s.io/v1)

    /// ValidateNetworkPolicySpec: selectors, ports, peers, policyTypes.
    static func networkPolicy(_ policy: NetworkPolicy) -> [Status.Cause] {
        guard let spec = policy.spec else { return [] }
        var causes = selector(spec.podSelector, "spec.podSelector")
        for (i, rule) in (spec.ingress ?? []).enumerated() {
            let at = "spec.ingress[\(i)]"
            for (j, port) in (rule.ports ?? []).enumerated() { causes += self.port(port, "\(at).ports[\(j)]") }
            for (j, peer) in (rule.from ?? []).enumerated() { causes += self.peer(peer, "\(at).from[\(j)]") }
        }
        for (i, rule) in (spec.egress ?? []).enumerated() {
            let at = "spec.egress[\(i)]"
            for (j, port) in (rule.ports ?? []).enumerated() { causes += self.port(port, "\(at).ports[\(j)]") }
            for (j, peer) in (rule.to ?? []).enumerated() { causes += self.peer(peer, "\(at).to[\(j)]") }
        }
        let types = spec.policyTypes ?? []
        if types.count > 2 {
            causes.append(
                invalid(
                    "spec.policyTypes", "[" + types.map { "\"\($0)\"" }.joined(separator: ",") + "]",
                    "may not specify more than two policyTypes"))
        } else {
            for (i, type) in types.enumerated() where !["Ingress", "Egress"].contains(type) {
                causes.append(notSupported("spec.policyTypes[\(i)]", type, ["Ingress", "Egress"]))
            }
        }
        return causes
    }

    /// ValidateNetworkPolicyPort: the protocol, the port number or name, endPort only with a numeric port and not
    /// below it.
    static func port(_ port: NetworkPolicyPort, _ path: String) -> [Status.Cause] {
        var causes: [Status.Cause] = []
        if let proto = port.protocol, !["TCP", "UDP", "SCTP"].contains(proto.rawValue) {
            causes.append(notSupported("\(path).protocol", proto.rawValue, ["TCP", "UDP", "SCTP"]))
        }
        switch port.port {
        case .int(let number):
            if !(1...65535).contains(number) {
                causes.append(invalid("\(path).port", String(number), portRangeMessage))
            }
            if let end = port.endPort {
                if end < number {
                    causes.append(invalid("\(path).endPort", String(number), "must be greater than or equal to `port`"))
                }
                if !(1...65535).contains(end) {
                    causes.append(invalid("\(path).endPort", String(end), portRangeMessage))
                }
            }
        case .string(let name):
            if let end = port.endPort {
                causes.append(
                    invalid("\(path).endPort", String(end), "may not be specified when `port` is non-numeric"))
            }
            for message in portNameErrors(name) { causes.append(invalid("\(path).port", quoted(name), message)) }
        case nil:
            if let end = port.endPort {
                causes.append(
                    invalid("\(path).endPort", String(end), "may not be specified when `port` is not specified"))
            }
        }
        return causes
    }

    /// ValidateNetworkPolicyPeer: at least one of the three; an ipBlock alone; selectors that parse.
    static func peer(_ peer: NetworkPolicyPeer, _ path: String) -> [Status.Cause] {
        var causes: [Status.Cause] = []
        var count = 0
        if let pods = peer.podSelector {
            count += 1
            causes += selector(pods, "\(path).podSelector")
        }
        if let namespaces = peer.namespaceSelector {
            count += 1
            causes += selector(namespaces, "\(path).namespaceSelector")
        }
        if let block = peer.ipBlock {
            count += 1
            causes += ipBlock(block, "\(path).ipBlock")
        }
        if count == 0 {
            causes.append(
                Status.Cause(reason: "FieldValueRequired", message: "Required value: must specify a peer", field: path))
        } else if count > 1 && peer.ipBlock != nil {
            causes.append(
                Status.Cause(
                    reason: "FieldValueForbidden", message: "Forbidden: may not specify both ipBlock and another peer",
                    field: path))
        }
        return causes
    }

    /// ValidateIPBlock: `cidr` a CIDR, each `except` a CIDR strictly inside it.
    static func ipBlock(_ block: IPBlock, _ path: String) -> [Status.Cause] {
        guard !block.cidr.isEmpty else {
            return [Status.Cause(reason: "FieldValueRequired", message: "Required value", field: "\(path).cidr")]
        }
        guard let cidr = prefix(block.cidr) else { return [invalid("\(path).cidr", quoted(block.cidr), cidrMessage)] }
        var causes: [Status.Cause] = []
        for (i, text) in (block.except ?? []).enumerated() {
            let at = "\(path).except[\(i)]"
            guard let except = prefix(text) else {
                causes.append(invalid(at, quoted(text), cidrMessage))
                continue
            }
            if except.family != cidr.family || except.length <= cidr.length
                || !cidr.network.contains(except.network.address)
            {
                causes.append(invalid(at, quoted(text), "must be a strict subset of `cidr`"))
            }
        }
        return causes
    }

    /// ValidateLabelSelector: keys and values, operators, values only with In and NotIn (and required there).
    static func selector(_ selector: LabelSelector?, _ path: String) -> [Status.Cause] {
        guard let selector else { return [] }
        return selector.validationErrors(path: path).map { error in
            switch error.reason {
            case "Required":
                Status.Cause(
                    reason: "FieldValueRequired", message: "Required value: \(error.message)", field: error.field)
            case "Forbidden":
                Status.Cause(reason: "FieldValueForbidden", message: "Forbidden: \(error.message)", field: error.field)
            default:
                // kube reports an unknown operator as Invalid, like bad keys and values.
                invalid(error.field, quoted(error.value ?? ""), error.message)
            }
        }
    }

    // MARK: Helpers

    static let portRangeMessage = "must be between 1 and 65535, inclusive"
    static let cidrMessage = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

    /// A CIDR as kube's parser takes it (an address and a prefix length; host bits allowed).
    static func prefix(_ text: String) -> IPPrefix? {
        guard text.contains("/") else { return nil }
        return IPPrefix(text)
    }

    /// IsValidPortName (an IANA_SVC_NAME).
    static func portNameErrors(_ name: String) -> [String] {
        var errors: [String] = []
        if name.utf8.count > 15 { errors.append("must be no more than 15 characters") }
        if name.isEmpty
            || !name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d })
        {
            errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
        }
        if !name.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7a }) {
            errors.append("must contain at least one letter (a-z)")
        }
        if name.contains("--") { errors.append("must not contain consecutive hyphens") }
        if name.hasPrefix("-") || name.hasSuffix("-") { errors.append("must not begin or end with a hyphen") }
        return errors
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// `Invalid value: VALUE: MESSAGE` (VALUE as kube prints it: strings quoted, numbers bare).
    static func invalid(_ field: String, _ shownValue: String, _ message: String) -> Status.Cause {
        Status.Cause(reason: "FieldValueInvalid", message: "Invalid value: \(shownValue): \(message)", field: field)
    }

    static func notSupported(_ field: String, _ value: String, _ supported: [String]) -> Status.Cause {
        Status.Cause(
            reason: "FieldValueNotSupported",
            message: "Unsupported value: \(quoted(value)): supported values: "
                + supported.map(quoted).joined(separator: ", "),
            field: field)
    }
}
