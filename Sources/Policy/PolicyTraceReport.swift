import KubeModel
import WeftNet

/// Bad input to `weft policy trace` (an endpoint, a protocol or a port that does not parse, a pod that does not
/// exist or has no address).
public struct PolicyTraceError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What `weft policy trace` was asked: two endpoints, a protocol and a port.
public struct PolicyTraceQuery: Sendable, Hashable {
    public var source: PolicyTracer.Endpoint
    public var destination: PolicyTracer.Endpoint
    public var `protocol`: PolicyProtocol
    public var port: Int

    public init(source: PolicyTracer.Endpoint, destination: PolicyTracer.Endpoint, protocol: PolicyProtocol, port: Int)
    {
        self.source = source
        self.destination = destination
        self.protocol = `protocol`
        self.port = port
    }

    /// From the command line's text: endpoints as `NAMESPACE/NAME` or an address, the protocol TCP, UDP or SCTP in
    /// any case, the port 1…65535.
    public init(source: String, destination: String, protocol: String, port: String) throws(PolicyTraceError) {
        guard let proto = PolicyProtocol(rawValue: `protocol`.uppercased()) else {
            throw PolicyTraceError("unknown protocol \"\(`protocol`)\": want TCP, UDP or SCTP")
        }
        guard let number = Int(port), (1...65535).contains(number) else {
            throw PolicyTraceError("port \"\(port)\" is not a number in 1…65535")
        }
        self.init(
            source: try PolicyTracer.Endpoint(parsing: source),
            destination: try PolicyTracer.Endpoint(parsing: destination),
            protocol: proto, port: number)
    }
}

extension PolicyTracer.Endpoint {
    /// `NAMESPACE/NAME` for a pod, else an IPv4 or IPv6 address (brackets allowed).
    public init(parsing text: String) throws(PolicyTraceError) {
        var bare = Substring(text)
        if bare.hasPrefix("[") && bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        if let address = IPAddress(String(bare)) {
            self = .address(address)
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, LabelValidation.isDNS1123Label(parts[0]).isEmpty,
            LabelValidation.isDNS1123Subdomain(parts[1]).isEmpty
        else {
            throw PolicyTraceError("\"\(text)\" is neither NAMESPACE/NAME of a pod nor an IP address")
        }
        self = .pod(namespace: parts[0], name: parts[1])
    }
}

/// The answer of `weft policy trace`: both directions of a new connection with the rule that decided each,
/// computed as the enforcer does — the objects compiled by `PolicyCompiler` for the node of each pod, the compiled
/// state asked through `PolicyTracer` — and worded for people (`text`) and programs (`json`).
public struct PolicyTraceReport: Sendable {
    /// A traced endpoint as resolved: its address, and its pod and node when it is a pod.
    public struct Endpoint: Sendable, Hashable {
        /// As given on the command line.
        public var given: String
        public var address: IPAddress
        /// `namespace/name` when the endpoint is a pod (given by name, or an address that is a pod's).
        public var pod: String?
        public var node: String?
        /// The pod uses its node's network: policies do not apply to it.
        public var hostNetwork = false
    }

    /// One direction as `weft policy trace` shows it.
    public struct Direction: Sendable, Hashable {
        public var direction: PolicyDirection
        /// Whether a node enforces this direction (the egress of a pod, the ingress of a pod).
        public var enforced: Bool
        public var node: String?
        public var allowed: Bool
        /// The rule or policy that decided, in short form: `np:x/allow-y ingress[0]`, `anp:name ingress "rule"`,
        /// `banp:default egress[1]`, `np:x/deny-all` (isolation).
        public var decidedBy: String?
        public var origin: PolicyRuleOrigin?
        /// The verdict in words: `allowed by np:x/allow-y ingress[0]`, `denied (isolated by np:x/deny-all)`,
        /// `no policy selects the pod: allowed`.
        public var verdict: String
    }

    public var source: Endpoint
    public var destination: Endpoint
    public var `protocol`: PolicyProtocol
    public var port: Int
    public var egress: Direction
    public var ingress: Direction
    /// Bad input the compiler left out (as the enforcer does), deduplicated across the compiled nodes.
    public var skipped: [PolicySkip]

    public var allowed: Bool { egress.allowed && ingress.allowed }

    /// Traces `query` over the cluster's objects. `nodes` (optional) give each node's pod CIDRs and addresses, as
    /// the agent reads them; a pod's node is compiled even without its Node object.
    public static func trace(_ query: PolicyTraceQuery, inputs: PolicyInputs, nodes: [Node] = [])
        throws(PolicyTraceError) -> PolicyTraceReport
    {
        let source = try resolve(query.source, inputs)
        let destination = try resolve(query.destination, inputs)
        // One address each, of a family both have.
        var pair: (IPAddress, IPAddress)? = nil
        for family in [IPFamily.v4, .v6] {
            if let s = source.first(where: { $0.address.family == family }),
                let d = destination.first(where: { $0.address.family == family })
            {
                pair = (s.address, d.address)
                break
            }
        }
        guard let (sourceAddress, destinationAddress) = pair else {
            throw PolicyTraceError("\(query.source) and \(query.destination) have no address family in common")
        }
        let from = source.first { $0.address == sourceAddress }!
        let to = destination.first { $0.address == destinationAddress }!

        // The nodes to compile: those of the pods, and those whose pod CIDRs hold an address that is no pod.
        let policyNodes = nodes.compactMap(policyNode)
        var names: [String] = []
        for endpoint in [from, to] {
            if let node = endpoint.node, !endpoint.hostNetwork {
                if !names.contains(node) { names.append(node) }
            } else if let owner = policyNodes.first(where: { $0.podCIDRs.contains { $0.contains(endpoint.address) } }),
                !names.contains(owner.name)
            {
                names.append(owner.name)
            }
        }
        let compiled = names.map { name in
            PolicyCompiler(node: policyNodes.first { $0.name == name } ?? PolicyNode(name: name)).compile(inputs)
        }
        let trace = PolicyTracer(nodes: compiled).trace(
            from: sourceAddress, to: destinationAddress, protocol: query.protocol, port: query.port)
        var skipped: [PolicySkip] = []
        for skip in compiled.flatMap(\.skipped) where !skipped.contains(skip) { skipped.append(skip) }
        return PolicyTraceReport(
            source: from, destination: to, protocol: query.protocol, port: query.port,
            egress: direction(trace.egress), ingress: direction(trace.ingress), skipped: skipped)
    }

    /// The candidate addresses of an endpoint (one per address of a pod).
    static func resolve(_ endpoint: PolicyTracer.Endpoint, _ inputs: PolicyInputs) throws(PolicyTraceError)
        -> [Endpoint]
    {
        switch endpoint {
        case .pod(let namespace, let name):
            guard
                let pod = inputs.pods.first(where: {
                    ($0.metadata.namespace ?? "default") == namespace && $0.metadata.name == name
                })
            else { throw PolicyTraceError("pod \(namespace)/\(name) not found") }
            if ["Succeeded", "Failed"].contains(pod.status?.phase ?? "") {
                throw PolicyTraceError("pod \(namespace)/\(name) has finished (\(pod.status?.phase ?? ""))")
            }
            let addresses = podAddresses(pod)
            guard !addresses.isEmpty else { throw PolicyTraceError("pod \(namespace)/\(name) has no IP address yet") }
            guard let node = pod.spec?.nodeName, !node.isEmpty else {
                throw PolicyTraceError("pod \(namespace)/\(name) is not scheduled to a node")
            }
            return addresses.map {
                Endpoint(
                    given: endpoint.description, address: $0, pod: "\(namespace)/\(name)", node: node,
                    hostNetwork: pod.spec?.hostNetwork == true)
            }
        case .address(let address):
            // An address that is a running pod's is that pod (as the enforcer sees it).
            for pod in inputs.pods
            where pod.spec?.hostNetwork != true && !["Succeeded", "Failed"].contains(pod.status?.phase ?? "")
                && podAddresses(pod).contains(address)
            {
                if let node = pod.spec?.nodeName, !node.isEmpty, let name = pod.metadata.name {
                    return [
                        Endpoint(
                            given: endpoint.description, address: address,
                            pod: "\(pod.metadata.namespace ?? "default")/\(name)", node: node)
                    ]
                }
            }
            return [Endpoint(given: endpoint.description, address: address)]
        }
    }

    static func podAddresses(_ pod: Pod) -> [IPAddress] {
        var texts = (pod.status?.podIPs ?? []).map(\.ip)
        if texts.isEmpty, let ip = pod.status?.podIP { texts = [ip] }
        var out: [IPAddress] = []
        for address in texts.compactMap(IPAddress.init) where !out.contains(address) { out.append(address) }
        return out
    }

    /// The node as the agent sees it (without the addresses of its network namespace, which the API does not know).
    static func policyNode(_ node: Node) -> PolicyNode? {
        guard let name = node.metadata.name else { return nil }
        let cidrs = node.spec?.podCIDRs ?? node.spec?.podCIDR.map { [$0] } ?? []
        let addresses = (node.status?.addresses ?? []).filter { ["InternalIP", "ExternalIP"].contains($0.type) }
            .compactMap { IPAddress($0.address) }
        return PolicyNode(name: name, addresses: addresses, podCIDRs: cidrs.compactMap(IPPrefix.init))
    }

    /// `np:x/allow-y ingress[0]`; admin rules by their name when they have one: `anp:name ingress "rule"`.
    public static func ruleText(_ origin: PolicyRuleOrigin) -> String {
        var text = "\(origin.kind.short):\(origin.policy)"
        guard let rule = origin.rule else { return text }
        if origin.kind != .network, let name = origin.ruleName, !name.isEmpty {
            text += " \(origin.direction.rawValue) \"\(name)\""
        } else {
            text += " \(origin.direction.rawValue)[\(rule)]"
        }
        return text
    }

    static func direction(_ verdict: PolicyVerdict) -> Direction {
        let passed = verdict.passedBy.map { "passed by \(ruleText($0)), then " } ?? ""
        var decidedBy = verdict.decidedBy.map(ruleText)
        let words: String
        var enforced = true
        switch verdict.basis {
        case .notAPod:
            enforced = false
            let who = verdict.direction == .egress ? "the source" : "the destination"
            words = "not enforced (\(who) is not a pod)"
        case .node:
            words = verdict.direction == .ingress ? "from the pod's own node: allowed" : "from the node itself: allowed"
        case .unknownPod:
            words = "denied (in the pod CIDRs of \(verdict.node ?? "the node") but no known pod)"
        case .noPolicy:
            words = "no policy selects the pod: allowed"
        case .rule:
            words = passed + (verdict.allowed ? "allowed by " : "denied by ") + (decidedBy ?? "?")
        case .isolated(let policies):
            decidedBy = policies.map { "np:\($0)" }.joined(separator: ", ")
            words = passed + "denied (isolated by \(decidedBy!))"
        case .noRuleDecides:
            decidedBy = nil
            words = passed + "no rule decides: allowed"
        }
        return Direction(
            direction: verdict.direction, enforced: enforced, node: verdict.node, allowed: verdict.allowed,
            decidedBy: decidedBy, origin: verdict.basis == .noRuleDecides ? nil : verdict.decidedBy, verdict: words)
    }

    // MARK: Output

    static func describe(_ endpoint: Endpoint) -> String {
        guard let pod = endpoint.pod else { return endpoint.address.description }
        return "\(pod) (\(endpoint.address)\(endpoint.hostNetwork ? ", hostNetwork" : ""))"
    }

    /// ```
    /// TCP x/a (10.244.1.10) -> y/b (10.244.2.11) port 80: denied
    ///   egress at node-1: denied (isolated by np:x/deny-egress)
    ///   ingress at node-2: allowed by np:y/allow-x ingress[0]
    /// ```
    public var text: String {
        var lines = [
            "\(self.protocol.rawValue) \(Self.describe(source)) -> \(Self.describe(destination)) port \(port): "
                + (allowed ? "allowed" : "denied")
        ]
        for direction in [egress, ingress] {
            let at = direction.node.map { " at \($0)" } ?? ""
            lines.append("  \(direction.direction.rawValue)\(at): \(direction.verdict)")
        }
        if !skipped.isEmpty {
            lines.append("skipped as bad input (the enforcer skips them too):")
            lines += skipped.map { "  \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        func endpoint(_ e: Endpoint) -> JSONValue {
            var out: [String: JSONValue] = ["given": .string(e.given), "address": .string(e.address.description)]
            out["pod"] = e.pod.map(JSONValue.string) ?? .null
            out["node"] = e.node.map(JSONValue.string) ?? .null
            if e.hostNetwork { out["hostNetwork"] = .bool(true) }
            return .object(out)
        }
        func direction(_ d: Direction) -> JSONValue {
            var out: [String: JSONValue] = [
                "enforced": .bool(d.enforced), "allowed": .bool(d.allowed), "verdict": .string(d.verdict),
                "node": d.node.map(JSONValue.string) ?? .null, "decidedBy": d.decidedBy.map(JSONValue.string) ?? .null,
            ]
            if let origin = d.origin {
                out["rule"] = .object([
                    "kind": .string(origin.kind.rawValue), "policy": .string(origin.policy),
                    "direction": .string(origin.direction.rawValue),
                    "index": origin.rule.map { .number(Double($0)) } ?? .null,
                    "name": origin.ruleName.map(JSONValue.string) ?? .null,
                ])
            } else {
                out["rule"] = .null
            }
            return .object(out)
        }
        return .object([
            "source": endpoint(source), "destination": endpoint(destination),
            "protocol": .string(self.protocol.rawValue), "port": .number(Double(port)), "allowed": .bool(allowed),
            "egress": direction(egress), "ingress": direction(ingress),
            "skipped": .array(skipped.map { .object(["what": .string($0.what), "reason": .string($0.reason)]) }),
        ])
    }
}
