import KubeModel
import WeftNet

/// Why a piece of a policy is skipped.
struct PolicyInputError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

extension PolicyCompiler {
    // MARK: NetworkPolicy

    func parse(_ policy: NetworkPolicy, _ context: inout Context) -> ParsedNetworkPolicy? {
        let namespace = policy.metadata.namespace ?? "default"
        let id = "\(namespace)/\(policy.metadata.name ?? "")"
        let what = "NetworkPolicy \(id)"
        guard let spec = policy.spec else {
            context.skipped.append(PolicySkip(what: what, reason: "no spec"))
            return nil
        }
        var selector: LabelSelector? = spec.podSelector ?? LabelSelector()
        if let problem = Self.selectorProblem(spec.podSelector, path: "spec.podSelector") {
            context.skipped.append(
                PolicySkip(
                    what: what, reason: "\(problem); it isolates every pod of namespace \(namespace) and allows nothing"
                ))
            selector = nil
        }
        var directions = Set<PolicyDirection>()
        var unknownTypes: [String] = []
        for type in spec.effectivePolicyTypes {
            switch type {
            case "Ingress": directions.insert(.ingress)
            case "Egress": directions.insert(.egress)
            default: unknownTypes.append(type)
            }
        }
        if !unknownTypes.isEmpty {
            context.skipped.append(
                PolicySkip(
                    what: what,
                    reason: "unknown policyTypes \(unknownTypes.joined(separator: ", ")); using the defaulting"))
            directions.insert(.ingress)
            if spec.egress != nil { directions.insert(.egress) }
        }
        var parsed = ParsedNetworkPolicy(
            id: id, namespace: namespace, selector: selector, directions: directions, rules: [:])
        guard selector != nil else { return parsed }
        for direction in PolicyDirection.allCases where directions.contains(direction) {
            let rules: [(peers: [NetworkPolicyPeer]?, ports: [NetworkPolicyPort]?)] =
                direction == .ingress
                ? (spec.ingress ?? []).map { ($0.from, $0.ports) } : (spec.egress ?? []).map { ($0.to, $0.ports) }
            var out: [ParsedRule] = []
            for (index, rule) in rules.enumerated() {
                let origin = PolicyRuleOrigin(kind: .network, policy: id, direction: direction, rule: index)
                do throws(PolicyInputError) {
                    out.append(
                        ParsedRule(
                            origin: origin, action: .allow,
                            peers: try networkPeers(rule.peers, namespace: namespace, context),
                            ports: try networkPorts(rule.ports)))
                } catch {
                    context.skipped.append(
                        PolicySkip(
                            what: "\(what) \(direction.rawValue)[\(index)]",
                            reason: error.reason + "; it allows nothing"))
                }
            }
            parsed.rules[direction] = out
        }
        return parsed
    }

    func networkPeers(_ peers: [NetworkPolicyPeer]?, namespace: String, _ context: Context) throws(PolicyInputError)
        -> [PeerSpec]
    {
        guard let peers, !peers.isEmpty else { return [.ranges(IPFamily.allCases.map(AddressRange.all))] }
        var out: [PeerSpec] = []
        for (index, peer) in peers.enumerated() {
            let at = "peer \(index)"
            if let block = peer.ipBlock {
                guard peer.podSelector == nil && peer.namespaceSelector == nil else {
                    throw PolicyInputError("\(at) has an ipBlock and selectors")
                }
                out.append(.ranges(try Self.ranges(block, at: at)))
                continue
            }
            guard peer.podSelector != nil || peer.namespaceSelector != nil else {
                throw PolicyInputError("\(at) has no podSelector, namespaceSelector or ipBlock")
            }
            if let problem = Self.selectorProblem(peer.podSelector, path: "\(at).podSelector")
                ?? Self.selectorProblem(peer.namespaceSelector, path: "\(at).namespaceSelector")
            {
                throw PolicyInputError(problem)
            }
            let namespaces: Context.Namespaces = peer.namespaceSelector.map { .selected($0) } ?? .named(namespace)
            out.append(.pods(context.pods(in: namespaces, matching: peer.podSelector ?? LabelSelector())))
        }
        return out
    }

    static func ranges(_ block: IPBlock, at: String) throws(PolicyInputError) -> [AddressRange] {
        guard block.cidr.contains("/"), let cidr = IPPrefix(block.cidr) else {
            throw PolicyInputError("\(at): ipBlock.cidr \"\(block.cidr)\" is not a CIDR")
        }
        var holes: [AddressRange] = []
        for text in block.except ?? [] {
            guard text.contains("/"), let except = IPPrefix(text) else {
                throw PolicyInputError("\(at): ipBlock.except \"\(text)\" is not a CIDR")
            }
            // A strict subset, as the API server validates.
            guard except.family == cidr.family, except.length > cidr.length,
                cidr.network.contains(except.network.address)
            else {
                throw PolicyInputError("\(at): ipBlock.except \(text) is not inside \(block.cidr) (a strict subset)")
            }
            holes.append(AddressRange(except))
        }
        return AddressRange(cidr).subtracting(holes)
    }

    func networkPorts(_ ports: [NetworkPolicyPort]?) throws(PolicyInputError) -> [PortSpec]? {
        guard let ports, !ports.isEmpty else { return nil }
        var out: [PortSpec] = []
        for (index, port) in ports.enumerated() {
            let at = "port \(index)"
            let protocolText = port.protocol?.rawValue ?? "TCP"
            guard let proto = PolicyProtocol(rawValue: protocolText) else {
                throw PolicyInputError("\(at): unknown protocol \(protocolText)")
            }
            switch port.port {
            case nil:
                guard port.endPort == nil else { throw PolicyInputError("\(at): endPort without a port") }
                out.append(.numbered(proto, 0...65535))
            case .int(let number):
                guard (1...65535).contains(number) else { throw PolicyInputError("\(at): port \(number) out of range") }
                if let end = port.endPort {
                    guard end >= number, end <= 65535 else {
                        throw PolicyInputError("\(at): endPort \(end) below port \(number) or above 65535")
                    }
                    out.append(.numbered(proto, number...end))
                } else {
                    out.append(.numbered(proto, number...number))
                }
            case .string(let name):
                guard port.endPort == nil else { throw PolicyInputError("\(at): endPort with the named port \(name)") }
                guard !name.isEmpty else { throw PolicyInputError("\(at): an empty port name") }
                out.append(.named(proto, name))
            }
        }
        return out
    }

    // MARK: AdminNetworkPolicy, BaselineAdminNetworkPolicy

    func parse(_ policy: AdminNetworkPolicy, _ context: inout Context) -> ParsedAdminPolicy? {
        let name = policy.metadata.name ?? ""
        let spec = policy.spec
        guard (0...1000).contains(spec.priority) else {
            context.skipped.append(
                PolicySkip(what: "AdminNetworkPolicy \(name)", reason: "priority \(spec.priority) is not in 0…1000"))
            return nil
        }
        return parseAdmin(
            kind: .admin, name: name, priority: spec.priority, subject: spec.subject, ingress: spec.ingress,
            egress: spec.egress, &context)
    }

    func parse(_ policy: BaselineAdminNetworkPolicy, _ context: inout Context) -> ParsedAdminPolicy? {
        let spec = policy.spec
        return parseAdmin(
            kind: .baseline, name: policy.metadata.name ?? "", priority: 0, subject: spec.subject,
            ingress: spec.ingress, egress: spec.egress, &context)
    }

    private func parseAdmin(
        kind: PolicyRuleOrigin.Kind, name: String, priority: Int, subject: AdminNetworkPolicySubject,
        ingress: [AdminNetworkPolicyRule]?, egress: [AdminNetworkPolicyRule]?, _ context: inout Context
    ) -> ParsedAdminPolicy? {
        let what = "\(kind.rawValue) \(name)"
        do throws(PolicyInputError) {
            switch (subject.namespaces, subject.pods) {
            case (let namespaces?, nil):
                if let problem = Self.selectorProblem(namespaces, path: "subject.namespaces") {
                    throw PolicyInputError(problem)
                }
            case (nil, let pods?):
                if let problem = Self.selectorProblem(pods.namespaceSelector, path: "subject.pods.namespaceSelector")
                    ?? Self.selectorProblem(pods.podSelector, path: "subject.pods.podSelector")
                {
                    throw PolicyInputError(problem)
                }
            default:
                throw PolicyInputError("the subject needs exactly one of namespaces and pods")
            }
        } catch {
            context.skipped.append(PolicySkip(what: what, reason: error.reason + "; the policy is not enforced"))
            return nil
        }
        var parsed = ParsedAdminPolicy(
            name: name, priority: priority, subject: (subject.namespaces, subject.pods), rules: [:])
        for direction in PolicyDirection.allCases {
            let rules = (direction == .ingress ? ingress : egress) ?? []
            var out: [ParsedRule] = []
            for (index, rule) in rules.enumerated() {
                let origin = PolicyRuleOrigin(
                    kind: kind, policy: name, direction: direction, rule: index, ruleName: rule.name)
                do throws(PolicyInputError) {
                    guard let action = PolicyAction(rawValue: rule.action), kind == .admin || action != .pass else {
                        throw PolicyInputError("unknown action \"\(rule.action)\"")
                    }
                    let peers = direction == .ingress ? rule.from : rule.to
                    if let peers, peers.contains(where: { Self.hasNoKnownField($0, direction) }) {
                        // policy.networking.k8s.io/v1alpha1 AdminNetworkPolicyEgressPeer: a peer with no field set
                        // is a newer CRD's (the CRD prunes fields it does not know; ingress peers know only
                        // namespaces and pods); fail closed — Allow matches nothing, Deny and Pass deny everything.
                        context.skipped.append(
                            PolicySkip(
                                what: "\(what) \(direction.rawValue)[\(index)]",
                                reason: "a peer sets no field known for \(direction.rawValue) peers; "
                                    + (action == .allow ? "it allows nothing" : "it denies all traffic")))
                        if action != .allow {
                            out.append(
                                ParsedRule(
                                    origin: origin, action: .deny,
                                    peers: [.ranges(IPFamily.allCases.map(AddressRange.all))], ports: nil))
                        }
                        continue
                    }
                    out.append(
                        ParsedRule(
                            origin: origin, action: action, peers: try adminPeers(peers, direction, context),
                            ports: try adminPorts(rule.ports)))
                } catch {
                    let effect =
                        rule.action == "Deny" ? "it is left out and denies nothing" : "it is left out"
                    context.skipped.append(
                        PolicySkip(
                            what: "\(what) \(direction.rawValue)[\(index)]", reason: "\(error.reason); \(effect)"))
                }
            }
            parsed.rules[direction] = out
        }
        return parsed
    }

    static func hasNoKnownField(_ peer: AdminNetworkPolicyPeer, _ direction: PolicyDirection) -> Bool {
        peer.namespaces == nil && peer.pods == nil
            && (direction == .ingress || (peer.nodes == nil && peer.networks == nil))
    }

    func adminPeers(_ peers: [AdminNetworkPolicyPeer]?, _ direction: PolicyDirection, _ context: Context)
        throws(PolicyInputError) -> [PeerSpec]
    {
        guard let peers, !peers.isEmpty else { throw PolicyInputError("no peers") }
        var out: [PeerSpec] = []
        for (index, peer) in peers.enumerated() {
            let at = "peer \(index)"
            let set = [peer.namespaces != nil, peer.pods != nil, peer.nodes != nil, peer.networks != nil]
            guard set.filter({ $0 }).count == 1 else {
                throw PolicyInputError("\(at) needs exactly one of namespaces, pods, nodes and networks")
            }
            if let nodes = peer.nodes {
                if let problem = Self.selectorProblem(nodes, path: "\(at).nodes") { throw PolicyInputError(problem) }
                let addresses = context.nodes.filter { nodes.matches($0.labels) }.flatMap(\.addresses)
                out.append(.ranges(addresses.map(AddressRange.init)))
                continue
            }
            if let networks = peer.networks {
                var ranges: [AddressRange] = []
                for text in networks {
                    guard text.contains("/"), let prefix = IPPrefix(text) else {
                        throw PolicyInputError("\(at): network \"\(text)\" is not a CIDR")
                    }
                    ranges.append(AddressRange(prefix))
                }
                out.append(.ranges(ranges))
                continue
            }
            let namespaceSelector: LabelSelector
            var podSelector = LabelSelector()
            if let namespaces = peer.namespaces {
                if let problem = Self.selectorProblem(namespaces, path: "\(at).namespaces") {
                    throw PolicyInputError(problem)
                }
                namespaceSelector = namespaces
            } else {
                let pods = peer.pods!
                if let problem = Self.selectorProblem(pods.namespaceSelector, path: "\(at).pods.namespaceSelector")
                    ?? Self.selectorProblem(pods.podSelector, path: "\(at).pods.podSelector")
                {
                    throw PolicyInputError(problem)
                }
                namespaceSelector = pods.namespaceSelector
                podSelector = pods.podSelector
            }
            out.append(.pods(context.pods(in: .selected(namespaceSelector), matching: podSelector)))
        }
        return out
    }

    func adminPorts(_ ports: [AdminNetworkPolicyPort]?) throws(PolicyInputError) -> [PortSpec]? {
        guard let ports, !ports.isEmpty else { return nil }
        var out: [PortSpec] = []
        for (index, port) in ports.enumerated() {
            let at = "port \(index)"
            func proto(_ value: PortProtocol?) throws(PolicyInputError) -> PolicyProtocol {
                let text = value?.rawValue ?? "TCP"
                guard let proto = PolicyProtocol(rawValue: text) else {
                    throw PolicyInputError("\(at): unknown protocol \(text)")
                }
                return proto
            }
            switch (port.portNumber, port.namedPort, port.portRange) {
            case (let number?, nil, nil):
                guard (1...65535).contains(number.port) else {
                    throw PolicyInputError("\(at): port \(number.port) out of range")
                }
                out.append(.numbered(try proto(number.protocol), number.port...number.port))
            case (nil, let name?, nil):
                guard !name.isEmpty else { throw PolicyInputError("\(at): an empty port name") }
                out.append(.named(nil, name))
            case (nil, nil, let range?):
                guard 1 <= range.start, range.start <= range.end, range.end <= 65535 else {
                    throw PolicyInputError("\(at): port range \(range.start)-\(range.end) is not within 1…65535")
                }
                out.append(.numbered(try proto(range.protocol), range.start...range.end))
            default:
                throw PolicyInputError("\(at) needs exactly one of portNumber, namedPort and portRange")
            }
        }
        return out
    }

    // MARK: Helpers

    /// The first validation problem of a selector, or nil (a missing selector is fine).
    static func selectorProblem(_ selector: LabelSelector?, path: String) -> String? {
        guard let selector else { return nil }
        return selector.validationErrors(path: path).first.map(\.description)
    }
}
