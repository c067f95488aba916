import KubeModel
import WeftNet

/// AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) are CRDs: a cluster
/// validates them against the CRD's OpenAPI schema (network-policy-api config/crd/standard, v0.1.7) and its CEL
/// rules, and answers 422 with the schema validator's messages. Checked here: `priority` in 0…1000; a subject with
/// exactly one of namespaces and pods; at most 100 rules per direction; `action` Allow, Deny or Pass (the baseline:
/// Allow or Deny); a rule `name` of at most 100 characters; `from`/`to` required with 1…100 peers, each with exactly
/// one field (ingress peers: namespaces or pods; egress also nodes or networks, 1…25 CIDRs); `ports` with 1…100
/// entries of exactly one of portNumber, namedPort, portRange, ports in 1…65535 and a range's start below its end;
/// label selectors; the baseline's name `default` (its CEL rule).
extension Validation {
    static func adminNetworkPolicy(_ policy: AdminNetworkPolicy) -> [Status.Cause] {
        var causes: [Status.Cause] = []
        let priority = policy.spec.priority
        if priority < 0 {
            causes.append(
                invalid("spec.priority", "\(priority)", "spec.priority in body should be greater than or equal to 0"))
        } else if priority > 1000 {
            causes.append(
                invalid("spec.priority", "\(priority)", "spec.priority in body should be less than or equal to 1000"))
        }
        causes += adminSubject(policy.spec.subject)
        causes += adminRules(policy.spec.ingress, .ingress, actions: ["Allow", "Deny", "Pass"])
        causes += adminRules(policy.spec.egress, .egress, actions: ["Allow", "Deny", "Pass"])
        return causes
    }

    static func baselineAdminNetworkPolicy(_ policy: BaselineAdminNetworkPolicy) -> [Status.Cause] {
        var causes: [Status.Cause] = []
        if let name = policy.metadata.name, name != "default" {
            causes.append(
                invalid(
                    "metadata.name", quoted(name),
                    "Only one baseline admin network policy with metadata.name=\"default\" can be created in the cluster"
                ))
        }
        causes += adminSubject(policy.spec.subject)
        causes += adminRules(policy.spec.ingress, .ingress, actions: ["Allow", "Deny"])
        causes += adminRules(policy.spec.egress, .egress, actions: ["Allow", "Deny"])
        return causes
    }

    enum AdminDirection: String {
        case ingress, egress
    }

    static func adminSubject(_ subject: AdminNetworkPolicySubject) -> [Status.Cause] {
        let set = [subject.namespaces != nil, subject.pods != nil].filter { $0 }.count
        if set != 1 { return [propertyCount("spec.subject", set)] }
        if let namespaces = subject.namespaces { return selector(namespaces, "spec.subject.namespaces") }
        let pods = subject.pods!
        return selector(pods.namespaceSelector, "spec.subject.pods.namespaceSelector")
            + selector(pods.podSelector, "spec.subject.pods.podSelector")
    }

    static func adminRules(_ rules: [AdminNetworkPolicyRule]?, _ direction: AdminDirection, actions: [String])
        -> [Status.Cause]
    {
        guard let rules else { return [] }
        let path = "spec.\(direction.rawValue)"
        var causes: [Status.Cause] = []
        if rules.count > 100 { causes.append(itemCount(path, rules.count, atMost: 100)) }
        for (i, rule) in rules.enumerated() {
            let at = "\(path)[\(i)]"
            if rule.action.isEmpty {
                causes.append(required("\(at).action"))
            } else if !actions.contains(rule.action) {
                causes.append(notSupported("\(at).action", rule.action, actions))
            }
            if let name = rule.name, name.count > 100 {
                causes.append(
                    Status.Cause(
                        reason: "FieldValueTooLong", message: "Too long: may not be more than 100 bytes",
                        field: "\(at).name"))
            }
            let peersField = direction == .ingress ? "from" : "to"
            if let peers = direction == .ingress ? rule.from : rule.to {
                if peers.isEmpty { causes.append(itemCount("\(at).\(peersField)", 0, atLeast: 1)) }
                if peers.count > 100 { causes.append(itemCount("\(at).\(peersField)", peers.count, atMost: 100)) }
                for (j, peer) in peers.enumerated() {
                    causes += adminPeer(peer, direction, "\(at).\(peersField)[\(j)]")
                }
            } else {
                causes.append(required("\(at).\(peersField)"))
            }
            if let ports = rule.ports {
                if ports.isEmpty { causes.append(itemCount("\(at).ports", 0, atLeast: 1)) }
                if ports.count > 100 { causes.append(itemCount("\(at).ports", ports.count, atMost: 100)) }
                for (j, port) in ports.enumerated() { causes += adminPort(port, "\(at).ports[\(j)]") }
            }
        }
        return causes
    }

    static func adminPeer(_ peer: AdminNetworkPolicyPeer, _ direction: AdminDirection, _ path: String)
        -> [Status.Cause]
    {
        var causes: [Status.Cause] = []
        if direction == .ingress {
            // The ingress peer type has no nodes or networks: unknown fields a structural schema rejects as such.
            if peer.nodes != nil { causes.append(unknownField("\(path).nodes")) }
            if peer.networks != nil { causes.append(unknownField("\(path).networks")) }
        }
        let set = [peer.namespaces != nil, peer.pods != nil, peer.nodes != nil, peer.networks != nil].filter { $0 }
            .count
        if set != 1 { causes.append(propertyCount(path, set)) }
        causes += selector(peer.namespaces, "\(path).namespaces")
        if let pods = peer.pods {
            causes += selector(pods.namespaceSelector, "\(path).pods.namespaceSelector")
            causes += selector(pods.podSelector, "\(path).pods.podSelector")
        }
        causes += selector(peer.nodes, "\(path).nodes")
        if let networks = peer.networks {
            if networks.isEmpty { causes.append(itemCount("\(path).networks", 0, atLeast: 1)) }
            if networks.count > 25 { causes.append(itemCount("\(path).networks", networks.count, atMost: 25)) }
            for (k, network) in networks.enumerated() where prefix(network) == nil {
                causes.append(invalid("\(path).networks[\(k)]", quoted(network), "Invalid CIDR format provided"))
            }
        }
        return causes
    }

    static func adminPort(_ port: AdminNetworkPolicyPort, _ path: String) -> [Status.Cause] {
        var causes: [Status.Cause] = []
        let set = [port.portNumber != nil, port.namedPort != nil, port.portRange != nil].filter { $0 }.count
        if set != 1 { causes.append(propertyCount(path, set)) }
        if let number = port.portNumber {
            causes += portBounds(number.port, "\(path).portNumber.port")
            causes += adminProtocol(number.protocol, "\(path).portNumber.protocol")
        }
        if let range = port.portRange {
            causes += portBounds(range.start, "\(path).portRange.start")
            causes += portBounds(range.end, "\(path).portRange.end")
            causes += adminProtocol(range.protocol, "\(path).portRange.protocol")
            if range.start >= range.end {
                causes.append(invalid("\(path).portRange", "\"object\"", "Start port must be less than End port"))
            }
        }
        if let name = port.namedPort, name.isEmpty { causes.append(required("\(path).namedPort")) }
        return causes
    }

    static func portBounds(_ port: Int, _ path: String) -> [Status.Cause] {
        if port < 1 { return [invalid(path, "\(port)", "\(path) in body should be greater than or equal to 1")] }
        if port > 65535 { return [invalid(path, "\(port)", "\(path) in body should be less than or equal to 65535")] }
        return []
    }

    static func adminProtocol(_ value: PortProtocol?, _ path: String) -> [Status.Cause] {
        guard let value, !["TCP", "UDP", "SCTP"].contains(value.rawValue) else { return [] }
        return [notSupported(path, value.rawValue, ["TCP", "UDP", "SCTP"])]
    }

    // MARK: Schema validator messages

    static func required(_ field: String) -> Status.Cause {
        Status.Cause(reason: "FieldValueRequired", message: "Required value", field: field)
    }

    static func unknownField(_ field: String) -> Status.Cause {
        Status.Cause(reason: "FieldValueInvalid", message: "Invalid value: field not declared in schema", field: field)
    }

    /// `maxProperties: 1` and `minProperties: 1`: exactly one field set.
    static func propertyCount(_ field: String, _ count: Int) -> Status.Cause {
        invalid(
            field, "\(count)",
            count == 0
                ? "\(field) in body should have at least 1 properties"
                : "\(field) in body should have at most 1 properties")
    }

    static func itemCount(_ field: String, _ count: Int, atLeast: Int) -> Status.Cause {
        invalid(field, "\(count)", "\(field) in body should have at least \(atLeast) items")
    }

    static func itemCount(_ field: String, _ count: Int, atMost: Int) -> Status.Cause {
        Status.Cause(
            reason: "FieldValueTooMany", message: "Too many: \(count): must have at most \(atMost) items", field: field)
    }
}
