import WeftNet

/// The verdict of one direction of a new connection, and what decided it.
public struct PolicyVerdict: Sendable, Hashable, CustomStringConvertible {
    public var direction: PolicyDirection
    /// The node that enforces this direction (the source's for egress, the destination's for ingress), when
    /// the endpoint is a pod of a compiled node.
    public var node: String?
    public var allowed: Bool
    /// The rule that decided; for a NetworkPolicy denial, the first isolating policy with `rule` nil.
    public var decidedBy: PolicyRuleOrigin?
    /// Why, in words.
    public var reason: String
    /// What kind of decision it was (`PolicyTraceReport` words it from this).
    public var basis: Basis = .rule
    /// The admin rule that passed before the decision, if one did.
    public var passedBy: PolicyRuleOrigin? = nil

    /// What kind of decision a verdict is.
    public enum Basis: Sendable, Hashable {
        /// The endpoint is no pod of a compiled node: nothing is enforced in this direction.
        case notAPod
        /// Traffic from (ingress) or of (egress) the node itself: always allowed.
        case node
        /// An address in the node's pod CIDRs that is no known pod: dropped.
        case unknownPod
        /// No policy selects the pod in this direction.
        case noPolicy
        /// A rule decided (`decidedBy`).
        case rule
        /// NetworkPolicies isolate the pod and none of their rules allows: denied.
        case isolated(policies: [String])
        /// Policies select the pod but no rule matched: allowed.
        case noRuleDecides
    }

    public var description: String {
        "\(direction.rawValue)\(node.map { " at \($0)" } ?? ""): \(allowed ? "allowed" : "denied") — \(reason)"
    }
}

/// Both directions of a connection: allowed when both are.
public struct PolicyTrace: Sendable, Hashable, CustomStringConvertible {
    public var source: IPAddress
    public var destination: IPAddress
    public var `protocol`: PolicyProtocol?
    public var port: Int?
    public var egress: PolicyVerdict
    public var ingress: PolicyVerdict

    public var allowed: Bool { egress.allowed && ingress.allowed }

    public var description: String {
        let what = self.protocol.map { "\($0.rawValue) " } ?? ""
        return "\(what)\(source) -> \(destination)\(port.map { ":\($0)" } ?? ""): "
            + "\(allowed ? "allowed" : "denied")\n  \(egress)\n  \(ingress)"
    }
}

/// Explains the verdict of a new connection (`weft policy trace`) from the same compiled state the enforcer
/// programs: the egress at the source's node, the ingress at the destination's node, each walking its pod group
/// in the order of the group's chain (admin rules, NetworkPolicy or baseline, allowed).
public struct PolicyTracer: Sendable {
    /// A traced endpoint: a pod (by namespace and name) or an address.
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case pod(namespace: String, name: String)
        case address(IPAddress)

        public var description: String {
            switch self {
            case .pod(let namespace, let name): "\(namespace)/\(name)"
            case .address(let address): address.description
            }
        }
    }

    public struct UnknownEndpoint: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// The compiled state of each node (of the nodes whose pods are traced).
    public var nodes: [CompiledPolicies]

    public init(nodes: [CompiledPolicies]) { self.nodes = nodes }

    /// Traces `source` to `destination`; `protocol` nil is a protocol without ports (ICMP).
    public func trace(from source: Endpoint, to destination: Endpoint, protocol: PolicyProtocol?, port: Int?) throws
        -> PolicyTrace
    {
        let sources = try addresses(source)
        let destinations = try addresses(destination)
        for family in [IPFamily.v4, .v6] {
            if let s = sources.first(where: { $0.family == family }),
                let d = destinations.first(where: { $0.family == family })
            {
                return trace(from: s, to: d, protocol: `protocol`, port: port)
            }
        }
        throw UnknownEndpoint(message: "\(source) and \(destination) have no address family in common")
    }

    /// Traces a connection between two addresses.
    public func trace(from source: IPAddress, to destination: IPAddress, protocol: PolicyProtocol?, port: Int?)
        -> PolicyTrace
    {
        PolicyTrace(
            source: source, destination: destination, protocol: `protocol`, port: port,
            egress: verdict(.egress, subject: source, peer: destination, protocol: `protocol`, port: port),
            ingress: verdict(.ingress, subject: destination, peer: source, protocol: `protocol`, port: port))
    }

    private func addresses(_ endpoint: Endpoint) throws -> [IPAddress] {
        switch endpoint {
        case .address(let address): return [address]
        case .pod(let namespace, let name):
            for node in nodes {
                if let pod = node.localPods.first(where: { $0.namespace == namespace && $0.name == name }) {
                    return pod.addresses
                }
            }
            throw UnknownEndpoint(message: "no pod \(namespace)/\(name) on the compiled nodes")
        }
    }

    /// One direction: `subject` is the pod whose policies apply (the source for egress), `peer` the other end.
    func verdict(
        _ direction: PolicyDirection, subject: IPAddress, peer: IPAddress, protocol: PolicyProtocol?, port: Int?
    ) -> PolicyVerdict {
        var passed: PolicyRuleOrigin? = nil
        func result(
            _ node: String?, _ allowed: Bool, _ origin: PolicyRuleOrigin?, _ reason: String,
            _ basis: PolicyVerdict.Basis
        ) -> PolicyVerdict {
            PolicyVerdict(
                direction: direction, node: node, allowed: allowed, decidedBy: origin, reason: reason, basis: basis,
                passedBy: passed)
        }
        // The node that enforces for `subject`: its pod's, else the one whose pod CIDRs hold it.
        let owner =
            nodes.first { $0.localPod(subject) != nil }
            ?? nodes.first { node in node.node.podCIDRs.contains { $0.contains(subject) } }
        // Both chains return first for the node's own addresses (ingress: from the node; egress: not a pod).
        if let owner, owner.node.addresses.contains(direction == .ingress ? peer : subject) {
            return result(
                owner.node.name, true, nil, direction == .ingress ? "from the pod's own node" : "from the node itself",
                .node)
        }
        guard let compiled = owner, compiled.localPod(subject) != nil else {
            if let owner {
                return result(
                    owner.node.name, false, nil, "\(subject) is in the pod CIDRs but not a known pod", .unknownPod)
            }
            return result(
                nil, true, nil, "\(subject) is not a pod of a compiled node: no \(direction.rawValue) policy", .notAPod)
        }
        let node = compiled.node.name
        guard let group = compiled.group(for: subject, direction) else {
            return result(node, true, nil, "no policy selects the pod for \(direction.rawValue)", .noPolicy)
        }
        let port = `protocol` == nil ? nil : port
        for rule in group.admin where rule.match.matches(peer: peer, protocol: `protocol`, port: port) {
            switch rule.action {
            case .allow: return result(node, true, rule.origin, "allowed by \(rule.origin)", .rule)
            case .deny: return result(node, false, rule.origin, "denied by \(rule.origin)", .rule)
            case .pass: passed = rule.origin
            }
            break
        }
        let after = passed.map { "passed by \($0), then " } ?? ""
        if let first = group.isolatingPolicies.first {
            if group.networkAllow.matches(peer: peer, protocol: `protocol`, port: port) {
                let rule = group.networkRules.first { $0.match.matches(peer: peer, protocol: `protocol`, port: port) }
                return result(
                    node, true, rule?.origin, after + "allowed by \(rule.map { "\($0.origin)" } ?? "NetworkPolicy")",
                    .rule)
            }
            let origin = PolicyRuleOrigin(kind: .network, policy: first, direction: direction, rule: nil)
            return result(
                node, false, origin,
                after
                    + "isolated by NetworkPolicy \(group.isolatingPolicies.joined(separator: ", ")) and no rule allows",
                .isolated(policies: group.isolatingPolicies))
        }
        for rule in group.baseline where rule.match.matches(peer: peer, protocol: `protocol`, port: port) {
            let verb = rule.action == .allow ? "allowed" : "denied"
            return result(node, rule.action == .allow, rule.origin, after + "\(verb) by \(rule.origin)", .rule)
        }
        return result(node, true, passed, after + "no rule decides: allowed", .noRuleDecides)
    }
}
