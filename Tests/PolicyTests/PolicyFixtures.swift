import KubeModel
import NFTables
import NFTablesTesting
import Testing
import WeftNet

@testable import Policy

/// The upstream e2e suite's model (test/e2e/network/netpol): namespaces x, y, z (label `ns`), each with pods a, b,
/// c (label `pod`) serving TCP and UDP on 80 and 81 (container ports `serve-80-tcp`, …). Pods a and c run on
/// node-1, b on node-2, so pairs cross nodes and stay on one.
struct Cluster {
    static let namespaceNames = ["x", "y", "z"]
    static let podNames = ["a", "b", "c"]
    /// `x/a`, `x/b`, … `z/c`: the matrix's rows and columns.
    static let pods = namespaceNames.flatMap { ns in podNames.map { "\(ns)/\($0)" } }

    static let node1 = PolicyNode(
        name: "node-1", addresses: [IPAddress("192.168.50.1")!, IPAddress("10.244.1.1")!],
        podCIDRs: [IPPrefix("10.244.1.0/24")!])
    static let node2 = PolicyNode(
        name: "node-2", addresses: [IPAddress("192.168.50.2")!, IPAddress("10.244.2.1")!],
        podCIDRs: [IPPrefix("10.244.2.0/24")!])
    static let nodes = [node1, node2]

    var inputs = PolicyInputs()

    init() {
        for (n, ns) in Self.namespaceNames.enumerated() {
            inputs.namespaces.append(Namespace(metadata: ObjectMeta(name: ns, labels: ["ns": ns])))
            for (p, name) in Self.podNames.enumerated() {
                let node = name == "b" ? 2 : 1
                let ports = [80, 81].flatMap { port in
                    ["TCP", "UDP"].map {
                        ContainerPort(
                            name: "serve-\(port)-\($0.lowercased())", containerPort: port,
                            protocol: PortProtocol(rawValue: $0))
                    }
                }
                var pod = Pod(
                    metadata: ObjectMeta(name: name, namespace: ns, labels: ["pod": name]),
                    spec: PodSpec(containers: [Container(name: "c", ports: ports)], nodeName: "node-\(node)"))
                pod.status = PodStatus()
                pod.status?.phase = "Running"
                pod.status?.podIPs = [PodIP(ip: "10.244.\(node).\(10 + n * 10 + p)")]
                inputs.pods.append(pod)
            }
        }
    }

    static func address(_ pod: String) -> IPAddress {
        let parts = pod.split(separator: "/")
        let n = namespaceNames.firstIndex(of: String(parts[0]))!
        let p = podNames.firstIndex(of: String(parts[1]))!
        return IPAddress("10.244.\(parts[1] == "b" ? 2 : 1).\(10 + n * 10 + p)")!
    }

    static func node(of pod: String) -> PolicyNode { pod.hasSuffix("/b") ? node2 : node1 }

    func compile(_ node: PolicyNode) -> CompiledPolicies { PolicyCompiler(node: node).compile(inputs) }
    func compiledNodes() -> [CompiledPolicies] { Self.nodes.map(compile) }

    mutating func setPodLabels(_ pod: String, _ labels: [String: String]) {
        let parts = pod.split(separator: "/").map(String.init)
        let index = inputs.pods.firstIndex { $0.metadata.namespace == parts[0] && $0.metadata.name == parts[1] }!
        inputs.pods[index].metadata.labels = labels
    }

    mutating func setNamespaceLabels(_ namespace: String, _ labels: [String: String]) {
        let index = inputs.namespaces.firstIndex { $0.metadata.name == namespace }!
        inputs.namespaces[index].metadata.labels = labels
    }
}

/// Which of the 81 pairs may connect (`from` row, `to` column). A pod reaching its own address never leaves its
/// network namespace, so the diagonal is always allowed and not probed (upstream's `AllowLoopback`).
struct Reachability: Equatable, CustomStringConvertible {
    var allowed: [String: Bool] = [:]

    init(_ everything: Bool = true) {
        for from in Cluster.pods { for to in Cluster.pods { allowed["\(from)>\(to)"] = everything || from == to } }
    }

    init(probe: (String, String) throws -> Bool) rethrows {
        for from in Cluster.pods {
            for to in Cluster.pods { allowed["\(from)>\(to)"] = from == to ? true : try probe(from, to) }
        }
    }

    subscript(from: String, to: String) -> Bool {
        get { allowed["\(from)>\(to)"]! }
        set { if from != to { allowed["\(from)>\(to)"] = newValue } }
    }

    /// Sets every pair whose source and destination satisfy the predicates.
    mutating func expect(from: (String) -> Bool = { _ in true }, to: (String) -> Bool = { _ in true }, _ value: Bool) {
        for a in Cluster.pods where from(a) { for b in Cluster.pods where to(b) { self[a, b] = value } }
    }

    /// The matrix as upstream prints it: `.` allowed, `X` denied.
    var description: String {
        var lines = ["     " + Cluster.pods.map { $0.replacingOccurrences(of: "/", with: "") }.joined(separator: " ")]
        for from in Cluster.pods {
            lines.append(
                from.replacingOccurrences(of: "/", with: "") + "   "
                    + Cluster.pods.map { self[from, $0] ? " ." : " X" }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// The pairs that differ, for a failure message.
    func difference(_ other: Reachability) -> [String] {
        allowed.keys.sorted().filter { allowed[$0] != other.allowed[$0] }.map {
            "\($0): expected \(allowed[$0]! ? "allowed" : "denied"), observed \(other.allowed[$0]! ? "allowed" : "denied")"
        }
    }
}

func inNamespace(_ namespace: String) -> (String) -> Bool { { $0.hasPrefix(namespace + "/") } }
func isPod(_ pod: String) -> (String) -> Bool { { $0 == pod } }

/// The two ways to observe a matrix: `PolicyTracer` over the compiled state, and `PacketTracer` walking packets
/// through the programmed ruleset of each node.
struct MatrixProbe {
    var nodes: [CompiledPolicies]
    var fakes: [String: FakeNFTables] = [:]
    /// The ruleset the agent programs: denials logged to nflog group 1 (PacketTracer reads `log … group N`).
    static let ruleset = PolicyRuleset()

    init(_ cluster: Cluster) throws {
        nodes = cluster.compiledNodes()
        for compiled in nodes {
            let nft = FakeNFTables()
            try nft.apply(Self.ruleset.fullSync(compiled))
            fakes[compiled.node.name] = nft
        }
    }

    func tracer(_ protocol: PolicyProtocol, _ port: Int) -> Reachability {
        let tracer = PolicyTracer(nodes: nodes)
        return Reachability { from, to in
            tracer.trace(from: Cluster.address(from), to: Cluster.address(to), protocol: `protocol`, port: port).allowed
        }
    }

    func packets(_ protocol: PolicyProtocol, _ port: Int) throws -> Reachability {
        try Self.packets(fakes: fakes, `protocol`, port)
    }

    /// A packet from the source pod's interface: forwarded by its node, then — on another node — arriving there.
    static func packets(fakes: [String: FakeNFTables], _ protocol: PolicyProtocol, _ port: Int) throws -> Reachability {
        var tracers: [String: PacketTracer] = [:]
        for node in Cluster.nodes {
            let tracer = PacketTracer(nft: fakes[node.name]!, localAddresses: node.addresses)
            try tracer.validate()
            tracers[node.name] = tracer
        }
        let traced: TracedProtocol =
            switch `protocol` {
            case .tcp: .tcp
            case .udp: .udp
            case .sctp: .sctp
            }
        return try Reachability { from, to in
            let packet = TracedPacket(traced, from: Cluster.address(from), to: Cluster.address(to), port: port)
            var path = [Cluster.node(of: from).name]
            if Cluster.node(of: to) != Cluster.node(of: from) { path.append(Cluster.node(of: to).name) }
            for node in path {
                let tracer = tracers[node]!
                tracer.forgetConnections()
                let trace = try tracer.trace(packet, path: .incoming(.forward))
                guard trace.fate.isAccepted else { return false }
            }
            return true
        }
    }
}

/// Compares the tracer's and the packets' matrices with the expected one, printing all three on a difference.
func expectMatrix(
    _ expected: Reachability, _ probe: MatrixProbe, _ protocol: PolicyProtocol = .tcp, _ port: Int = 80,
    _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let fromTracer = probe.tracer(`protocol`, port)
    let fromPackets = try probe.packets(`protocol`, port)
    #expect(
        fromTracer == expected,
        Comment(
            rawValue:
                "\(comment) \(`protocol`) \(port) PolicyTracer\nexpected:\n\(expected)\nobserved:\n\(fromTracer)\n"
                + expected.difference(fromTracer).joined(separator: "\n")), sourceLocation: sourceLocation)
    #expect(
        fromPackets == expected,
        Comment(
            rawValue:
                "\(comment) \(`protocol`) \(port) PacketTracer\nexpected:\n\(expected)\nobserved:\n\(fromPackets)\n"
                + expected.difference(fromPackets).joined(separator: "\n")), sourceLocation: sourceLocation)
}

// MARK: Policy builders

func labels(_ labels: [String: String]) -> LabelSelector { LabelSelector(matchLabels: labels) }

func networkPolicy(
    _ namespace: String, _ name: String, select: LabelSelector = LabelSelector(), types: [String]? = nil,
    ingress: [NetworkPolicyIngressRule]? = nil, egress: [NetworkPolicyEgressRule]? = nil
) -> NetworkPolicy {
    NetworkPolicy(
        metadata: ObjectMeta(name: name, namespace: namespace),
        spec: NetworkPolicySpec(podSelector: select, policyTypes: types, ingress: ingress, egress: egress))
}

func adminPolicy(
    _ name: String, priority: Int, subject: AdminNetworkPolicySubject, ingress: [AdminNetworkPolicyRule]? = nil,
    egress: [AdminNetworkPolicyRule]? = nil
) -> AdminNetworkPolicy {
    AdminNetworkPolicy(
        metadata: ObjectMeta(name: name),
        spec: AdminNetworkPolicySpec(priority: priority, subject: subject, ingress: ingress, egress: egress))
}

func tcp(_ port: Int, endPort: Int? = nil) -> NetworkPolicyPort {
    NetworkPolicyPort(protocol: .tcp, port: .int(port), endPort: endPort)
}
