import KubeModel
import WeftNet

/// The API objects policies are computed from.
public struct PolicyInputs: Sendable {
    public var networkPolicies: [NetworkPolicy]
    public var adminNetworkPolicies: [AdminNetworkPolicy]
    public var baselineAdminNetworkPolicies: [BaselineAdminNetworkPolicy]
    /// Every pod of the cluster: local pods are subjects, all pods are peers.
    public var pods: [Pod]
    /// Every namespace (for namespace selectors; a pod's namespace missing here has only its name label).
    public var namespaces: [Namespace]
    /// Every node (for admin egress `nodes` peers: their InternalIP and ExternalIP addresses).
    public var nodes: [Node]

    public init(
        networkPolicies: [NetworkPolicy] = [], adminNetworkPolicies: [AdminNetworkPolicy] = [],
        baselineAdminNetworkPolicies: [BaselineAdminNetworkPolicy] = [], pods: [Pod] = [],
        namespaces: [Namespace] = [], nodes: [Node] = []
    ) {
        self.networkPolicies = networkPolicies
        self.adminNetworkPolicies = adminNetworkPolicies
        self.baselineAdminNetworkPolicies = baselineAdminNetworkPolicies
        self.pods = pods
        self.namespaces = namespaces
        self.nodes = nodes
    }
}

/// Computes what one node enforces for its local pods, from NetworkPolicies (networking.k8s.io/v1) and
/// AdminNetworkPolicies and the BaselineAdminNetworkPolicy `default` (policy.networking.k8s.io/v1alpha1). Pure.
///
/// Semantics. A pod is a subject when it runs on this node, has addresses, is not `hostNetwork` and has not
/// finished. For each direction the verdict of a new connection is the first that applies of: the admin rules of
/// the AdminNetworkPolicies selecting the pod, by `priority` (then name), each policy's rules in order — `Allow`,
/// `Deny`, or `Pass` (on to NetworkPolicy); NetworkPolicy — when any policy of the pod's namespace selects it for
/// that direction (`policyTypes`, defaulted: Ingress, plus Egress when there are egress rules) the pod is isolated
/// and only the union of those policies' rules allows; the baseline's rules; else allowed. A NetworkPolicy peer is
/// pods (podSelector in the policy's namespace, namespaceSelector, both = AND) or an ipBlock minus its `except`;
/// several peers and several rules are ORed; a missing or empty `from`/`to` is every address, missing or empty
/// `ports` every protocol and port. A named port is resolved on the destination pod (for ingress the subject,
/// which is part of the group's identity; for egress each peer pod). Peers are pods with addresses that are not
/// `hostNetwork`.
///
/// Bad input is skipped with a reason in `CompiledPolicies.skipped`, never applied in part, and never opens a
/// pod a policy isolates: a bad rule allows nothing (the policy still isolates); a NetworkPolicy whose podSelector
/// does not parse isolates every pod of its namespace; unknown `policyTypes` fall back to the defaulting. An
/// admin rule that is bad is left out (a `Deny` rule then denies nothing: reported); an admin policy whose subject
/// or priority is bad is left out whole. An admin peer with none of the fields this compiler knows (a newer CRD's)
/// fails closed as the API says: an `Allow` rule matches nothing, a `Deny` or `Pass` rule denies all traffic of its
/// direction. Egress `nodes` peers are the selected nodes' InternalIP and ExternalIP addresses.
public struct PolicyCompiler: Sendable {
    public var node: PolicyNode

    public init(node: PolicyNode) { self.node = node }

    // MARK: Parsed input

    struct PeerPod: Sendable {
        var namespace: String
        var name: String
        var labels: [String: String]
        var nodeName: String?
        var addresses: [IPAddress]
        var ports: [(name: String, protocol: PolicyProtocol, port: Int)]
    }

    enum PortSpec: Sendable, Hashable {
        case numbered(PolicyProtocol, ClosedRange<Int>)
        /// A named port; `nil` protocol: the container port's own (admin `namedPort`).
        case named(PolicyProtocol?, String)
    }

    enum PeerSpec: Sendable {
        case pods([Int])
        case ranges([AddressRange])
    }

    struct ParsedRule: Sendable {
        var origin: PolicyRuleOrigin
        var action: PolicyAction
        var peers: [PeerSpec]
        /// `nil`: every protocol and port.
        var ports: [PortSpec]?
    }

    struct ParsedNetworkPolicy: Sendable {
        var id: String
        var namespace: String
        /// `nil`: the selector does not parse, so the policy selects every pod of its namespace.
        var selector: LabelSelector?
        var directions: Set<PolicyDirection>
        var rules: [PolicyDirection: [ParsedRule]]
    }

    struct ParsedAdminPolicy: Sendable {
        var name: String
        var priority: Int
        var subject: (LabelSelector?, NamespacedPodSelector?)
        var rules: [PolicyDirection: [ParsedRule]]
    }

    /// A compiled rule's identity within one compilation.
    struct RuleKey: Hashable {
        var origin: PolicyRuleOrigin
        /// The group's named-port resolution, for ingress rules with named ports.
        var resolution: String
    }

    /// Everything parsed once per compilation.
    struct Context {
        /// Sorted by namespace, then name.
        var pods: [PeerPod] = [] {
            didSet {
                podsByNamespace = [:]
                var start = 0
                for index in pods.indices
                where index + 1 == pods.count || pods[index + 1].namespace != pods[index].namespace {
                    podsByNamespace[pods[index].namespace] = start..<(index + 1)
                    start = index + 1
                }
            }
        }
        /// The indices of each namespace's pods in `pods`.
        private(set) var podsByNamespace: [String: Range<Int>] = [:]
        var namespaceLabels: [String: [String: String]] = [:]
        /// Each node's labels and InternalIP/ExternalIP addresses.
        var nodes: [(labels: [String: String], addresses: [IPAddress])] = []
        var skipped: [PolicySkip] = []

        enum Namespaces {
            case named(String)
            case selected(LabelSelector)
        }

        /// The indices (ascending) of the pods in `namespaces` whose labels `selector` matches: a namespace
        /// selector is evaluated once per namespace, the pod selector only on those namespaces' pods.
        func pods(in namespaces: Namespaces, matching selector: LabelSelector) -> [Int] {
            var ranges: [Range<Int>] = []
            switch namespaces {
            case .named(let name):
                if let range = podsByNamespace[name] { ranges.append(range) }
            case .selected(let namespaceSelector):
                for (name, range) in podsByNamespace where namespaceSelector.matches(labels(ofNamespace: name)) {
                    ranges.append(range)
                }
            }
            var indices: [Int] = []
            for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                for i in range where selector.matches(pods[i].labels) { indices.append(i) }
            }
            return indices
        }

        func labels(ofNamespace name: String) -> [String: String] {
            var labels = namespaceLabels[name] ?? [:]
            labels[Namespace.nameLabel] = name
            return labels
        }
    }

    // MARK: Compile

    public func compile(_ inputs: PolicyInputs) -> CompiledPolicies {
        var context = Context()
        for namespace in inputs.namespaces {
            guard let name = namespace.metadata.name else { continue }
            context.namespaceLabels[name] = namespace.metadata.labels ?? [:]
        }
        context.pods = inputs.pods.compactMap(Self.peerPod).sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        context.nodes = inputs.nodes.map { node in
            let addresses = (node.status?.addresses ?? []).filter { ["InternalIP", "ExternalIP"].contains($0.type) }
                .compactMap { IPAddress($0.address) }
            return (node.metadata.labels ?? [:], addresses)
        }

        let networkPolicies = inputs.networkPolicies.compactMap { parse($0, &context) }
            .sorted { $0.id < $1.id }
        let admin = inputs.adminNetworkPolicies.compactMap { parse($0, &context) }
            .sorted { ($0.priority, $0.name) < ($1.priority, $1.name) }
        var baseline: ParsedAdminPolicy? = nil
        for policy in inputs.baselineAdminNetworkPolicies {
            guard policy.metadata.name == "default" else {
                context.skipped.append(
                    PolicySkip(
                        what: "BaselineAdminNetworkPolicy \(policy.metadata.name ?? "")",
                        reason: "only the BaselineAdminNetworkPolicy named default is enforced"))
                continue
            }
            baseline = parse(policy, &context)
        }

        let networkPoliciesByNamespace = Dictionary(grouping: networkPolicies, by: \.namespace)
        // A rule compiles the same in every group it is part of, except that ingress resolves named ports on the
        // group's pods: keyed by its origin and, for those, the resolution.
        var compiledRules: [RuleKey: CompiledRule] = [:]
        var out = CompiledPolicies(node: node)
        for pod in context.pods where pod.nodeName == node.name {
            out.localPods.append(LocalPod(namespace: pod.namespace, name: pod.name, addresses: pod.addresses))
            for direction in PolicyDirection.allCases {
                let admins = admin.filter {
                    Self.selects($0.subject, pod, context) && !($0.rules[direction] ?? []).isEmpty
                }
                let networks = (networkPoliciesByNamespace[pod.namespace] ?? []).filter {
                    $0.directions.contains(direction) && ($0.selector?.matches(pod.labels) ?? true)
                }
                let base = baseline.flatMap {
                    Self.selects($0.subject, pod, context) && !($0.rules[direction] ?? []).isEmpty ? $0 : nil
                }
                if admins.isEmpty && networks.isEmpty && base == nil { continue }
                let rules =
                    admins.flatMap { $0.rules[direction] ?? [] } + networks.flatMap { $0.rules[direction] ?? [] }
                    + (base?.rules[direction] ?? [])
                // Ingress resolves named ports on the subject: pods that resolve them differently differ.
                var resolution: [String: [(PolicyProtocol, Int)]] = [:]
                if direction == .ingress {
                    for rule in rules {
                        for case .named(let proto, let name) in rule.ports ?? [] {
                            resolution[name] = pod.ports.filter {
                                $0.name == name && (proto == nil || $0.protocol == proto)
                            }
                            .map { ($0.protocol, $0.port) }
                        }
                    }
                }
                let resolutionText = resolution.keys.sorted().map { name in
                    "\(name)=" + resolution[name]!.map { "\($0.0.rawValue)/\($0.1)" }.sorted().joined(separator: ",")
                }
                let joinedResolution = resolutionText.joined(separator: ";")
                let key = [
                    direction.rawValue, admins.map(\.name).joined(separator: ","),
                    networks.map(\.id).joined(separator: ","), base == nil ? "" : "baseline", joinedResolution,
                ].joined(separator: "|")
                let name = (direction == .ingress ? "in-" : "eg-") + String(Self.hash(key).prefix(12))
                if out.groups[name] == nil {
                    func compiled(_ rule: ParsedRule) -> CompiledRule {
                        let resolves =
                            direction == .ingress
                            && (rule.ports ?? []).contains { if case .named = $0 { true } else { false } }
                        let key = RuleKey(origin: rule.origin, resolution: resolves ? joinedResolution : "")
                        if let known = compiledRules[key] { return known }
                        let rule = CompiledRule(
                            origin: rule.origin, action: rule.action,
                            match: match(rule, direction: direction, subjectPorts: resolution, context))
                        compiledRules[key] = rule
                        return rule
                    }
                    let networkRules = networks.flatMap { ($0.rules[direction] ?? []).map(compiled) }
                    out.groups[name] = PolicyGroup(
                        name: name, direction: direction,
                        admin: admins.flatMap { ($0.rules[direction] ?? []).map(compiled) },
                        isolatingPolicies: networks.map(\.id),
                        networkRules: networkRules,
                        networkAllow: TrafficMatch.union(networkRules.map(\.match)),
                        baseline: (base?.rules[direction] ?? []).map(compiled))
                }
                for address in pod.addresses {
                    if direction == .ingress { out.ingress[address] = name } else { out.egress[address] = name }
                }
            }
        }
        out.skipped = context.skipped
        return out
    }

    // MARK: Matching

    /// What `rule` matches on the peer side, with named ports resolved on the destination pod.
    func match(
        _ rule: ParsedRule, direction: PolicyDirection, subjectPorts: [String: [(PolicyProtocol, Int)]],
        _ context: Context
    ) -> TrafficMatch {
        var ranges: [AddressRange] = []
        var peerPods: [Int] = []
        for peer in rule.peers {
            switch peer {
            case .pods(let indices):
                peerPods += indices
                for index in indices { ranges += context.pods[index].addresses.map(AddressRange.init) }
            case .ranges(let more):
                ranges += more
            }
        }
        guard let ports = rule.ports else {
            var out = TrafficMatch(hasAnyPortShape: true)
            out.any = ranges
            return out.normalized()
        }
        var out = TrafficMatch(hasPortShape: true)
        for spec in ports {
            switch spec {
            case .numbered(let proto, let numbers):
                out.ports += ranges.map { TrafficMatch.PortEntry(range: $0, protocol: proto, ports: numbers) }
            case .named(let proto, let name):
                if direction == .ingress {
                    for (resolvedProto, port) in subjectPorts[name] ?? [] {
                        out.ports += ranges.map {
                            TrafficMatch.PortEntry(range: $0, protocol: resolvedProto, ports: port...port)
                        }
                    }
                    continue
                }
                // Egress: each destination pod's own port (pods inside an address range count as well).
                var destinations: [(pod: Int, address: IPAddress)] = []
                for index in peerPods {
                    destinations += context.pods[index].addresses.map { (index, $0) }
                }
                let blocks = rule.peers.flatMap { peer -> [AddressRange] in
                    if case .ranges(let blocks) = peer { return blocks }
                    return []
                }
                if !blocks.isEmpty {
                    for (index, pod) in context.pods.enumerated() {
                        for address in pod.addresses where blocks.contains(where: { $0.contains(address) }) {
                            destinations.append((index, address))
                        }
                    }
                }
                for (index, address) in destinations {
                    for port in context.pods[index].ports
                    where port.name == name && (proto == nil || port.protocol == proto) {
                        out.ports.append(
                            TrafficMatch.PortEntry(
                                range: AddressRange(address), protocol: port.protocol, ports: port.port...port.port))
                    }
                }
            }
        }
        return out.normalized()
    }

    static func selects(_ subject: (LabelSelector?, NamespacedPodSelector?), _ pod: PeerPod, _ context: Context)
        -> Bool
    {
        let namespaceLabels = context.labels(ofNamespace: pod.namespace)
        if let namespaces = subject.0 { return namespaces.matches(namespaceLabels) }
        if let pods = subject.1 {
            return pods.namespaceSelector.matches(namespaceLabels) && pods.podSelector.matches(pod.labels)
        }
        return false
    }

    static func peerPod(_ pod: Pod) -> PeerPod? {
        guard let name = pod.metadata.name, pod.spec?.hostNetwork != true,
            !["Succeeded", "Failed"].contains(pod.status?.phase ?? "")
        else { return nil }
        var texts = (pod.status?.podIPs ?? []).map(\.ip)
        if texts.isEmpty, let ip = pod.status?.podIP { texts = [ip] }
        var addresses: [IPAddress] = []
        for address in texts.compactMap(IPAddress.init) where !addresses.contains(address) { addresses.append(address) }
        guard !addresses.isEmpty else { return nil }
        var ports: [(name: String, protocol: PolicyProtocol, port: Int)] = []
        for container in pod.spec?.containers ?? [] {
            for port in container.ports ?? [] {
                guard let portName = port.name, !portName.isEmpty,
                    let proto = PolicyProtocol(rawValue: port.protocol?.rawValue ?? "TCP"),
                    (1...65535).contains(port.containerPort)
                else { continue }
                ports.append((portName, proto, port.containerPort))
            }
        }
        return PeerPod(
            namespace: pod.metadata.namespace ?? "default", name: name, labels: pod.metadata.labels ?? [:],
            nodeName: pod.spec?.nodeName, addresses: addresses, ports: ports)
    }

    /// 16 hex digits of FNV-1a, for stable short object names.
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
