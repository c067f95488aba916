import KubeModel
import Testing
import WeftNet

@testable import Policy

/// `weft policy trace` without the API: parsing its arguments, resolving endpoints from the objects, the worded
/// verdicts, JSON, and agreement with the packets walked through each node's programmed ruleset.
struct PolicyTraceReportTests {
    static func node(_ name: String, cidr: String, ip: String) -> Node {
        var spec = NodeSpec()
        spec.podCIDRs = [cidr]
        var status = NodeStatus()
        status.addresses = [NodeAddress(type: "InternalIP", address: ip)]
        return Node(metadata: ObjectMeta(name: name), spec: spec, status: status)
    }

    static let nodes = [
        node("node-1", cidr: "10.244.1.0/24", ip: "192.168.50.1"),
        node("node-2", cidr: "10.244.2.0/24", ip: "192.168.50.2"),
    ]

    static func trace(
        _ cluster: Cluster, _ source: String, _ destination: String, _ proto: String = "tcp", _ port: String = "80",
        nodes: [Node] = nodes
    ) throws -> PolicyTraceReport {
        try PolicyTraceReport.trace(
            PolicyTraceQuery(source: source, destination: destination, protocol: proto, port: port),
            inputs: cluster.inputs, nodes: nodes)
    }

    @Test func parsesTheArguments() throws {
        let query = try PolicyTraceQuery(source: "x/a", destination: "[fd00::5]", protocol: "udp", port: "53")
        #expect(query.source == .pod(namespace: "x", name: "a"))
        #expect(query.destination == .address(IPAddress("fd00::5")!))
        #expect(query.protocol == .udp && query.port == 53)
        #expect(
            try PolicyTraceQuery(source: "10.0.0.1", destination: "y/b", protocol: "SCTP", port: "1").protocol == .sctp)
        for (source, proto, port, message) in [
            ("x/a", "ICMP", "80", "unknown protocol \"ICMP\": want TCP, UDP or SCTP"),
            ("x/a", "TCP", "0", "port \"0\" is not a number in 1…65535"),
            ("x/a", "TCP", "http", "port \"http\" is not a number in 1…65535"),
            ("a", "TCP", "80", "\"a\" is neither NAMESPACE/NAME of a pod nor an IP address"),
            ("x/a/b", "TCP", "80", "\"x/a/b\" is neither NAMESPACE/NAME of a pod nor an IP address"),
            ("X/a", "TCP", "80", "\"X/a\" is neither NAMESPACE/NAME of a pod nor an IP address"),
        ] {
            #expect(throws: PolicyTraceError(message)) {
                try PolicyTraceQuery(source: source, destination: "y/b", protocol: proto, port: port)
            }
        }
    }

    @Test func wordsEachKindOfDecision() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy("x", "deny-all", types: ["Ingress", "Egress"]),
            networkPolicy(
                "y", "allow-x", select: labels(["pod": "b"]),
                ingress: [
                    NetworkPolicyIngressRule(ports: [tcp(9000)]),
                    NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "x"]))]),
                ]),
        ]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "guard-z", priority: 3, subject: AdminNetworkPolicySubject(namespaces: labels(["ns": "z"])),
                ingress: [
                    AdminNetworkPolicyRule(
                        name: "pass-y", action: "Pass", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))]),
                    AdminNetworkPolicyRule(
                        name: "no-x", action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "x"]))]),
                ])
        ]
        cluster.inputs.baselineAdminNetworkPolicies = [
            BaselineAdminNetworkPolicy(
                metadata: ObjectMeta(name: "default"),
                spec: BaselineAdminNetworkPolicySpec(
                    subject: AdminNetworkPolicySubject(namespaces: labels(["ns": "z"])),
                    ingress: [
                        AdminNetworkPolicyRule(
                            action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))])
                    ]))
        ]

        // Egress of x/a isolated; ingress of y/b allowed by the second rule.
        let denied = try Self.trace(cluster, "x/a", "y/b")
        #expect(!denied.allowed)
        #expect(
            denied.text == """
                TCP x/a (10.244.1.10) -> y/b (10.244.2.21) port 80: denied
                  egress at node-1: denied (isolated by np:x/deny-all)
                  ingress at node-2: allowed by np:y/allow-x ingress[1]

                """)
        #expect(denied.egress.decidedBy == "np:x/deny-all" && denied.egress.node == "node-1")

        // No policy either way.
        let open = try Self.trace(cluster, "y/a", "y/c", "UDP", "81")
        #expect(open.allowed)
        #expect(open.egress.verdict == "no policy selects the pod: allowed")
        #expect(open.ingress.verdict == "no policy selects the pod: allowed")
        #expect(open.ingress.decidedBy == nil)

        // An admin Deny by its rule's name; an admin Pass then the baseline.
        let anp = try Self.trace(cluster, "10.244.1.10", "z/c")
        #expect(anp.source.pod == "x/a", "an address of a pod is that pod")
        #expect(anp.ingress.verdict == "denied by anp:guard-z ingress \"no-x\"")
        #expect(anp.ingress.origin?.rule == 1)
        let banp = try Self.trace(cluster, "y/c", "z/b", "SCTP", "80")
        #expect(
            banp.ingress.verdict == "passed by anp:guard-z ingress \"pass-y\", then denied by banp:default ingress[0]")
        #expect(!banp.allowed && banp.ingress.node == "node-2")

        // From outside the cluster: egress is nobody's; the ingress isolation still holds.
        let outside = try Self.trace(cluster, "203.0.113.9", "x/c")
        #expect(!outside.egress.enforced && outside.egress.allowed && outside.egress.node == nil)
        #expect(outside.egress.verdict == "not enforced (the source is not a pod)")
        #expect(outside.ingress.verdict == "denied (isolated by np:x/deny-all)")
        #expect(outside.text.hasPrefix("TCP 203.0.113.9 -> x/c (10.244.1.12) port 80: denied\n  egress: not enforced"))

        // From the destination's own node: allowed before any policy.
        let fromNode = try Self.trace(cluster, "192.168.50.1", "x/a")
        #expect(fromNode.ingress.verdict == "from the pod's own node: allowed" && fromNode.allowed)
        // Without the Node objects the node's address is not known to be the node's.
        #expect(try !Self.trace(cluster, "192.168.50.1", "x/a", nodes: []).allowed)

        // An address of a node's pod CIDRs that is no pod: dropped there.
        let stray = try Self.trace(cluster, "y/a", "10.244.2.200")
        #expect(stray.destination.pod == nil)
        #expect(stray.ingress.node == "node-2" && stray.ingress.verdict.hasPrefix("denied (in the pod CIDRs of node-2"))
    }

    @Test func reportsErrorsAndSkippedInput() throws {
        var cluster = Cluster()
        var pending = Pod(
            metadata: ObjectMeta(name: "new", namespace: "x"), spec: PodSpec(containers: [Container(name: "c")]))
        pending.status = PodStatus()
        cluster.inputs.pods.append(pending)
        #expect(throws: PolicyTraceError("pod x/zz not found")) { try Self.trace(cluster, "x/zz", "y/a") }
        #expect(throws: PolicyTraceError("pod x/new has no IP address yet")) { try Self.trace(cluster, "y/a", "x/new") }
        #expect(throws: PolicyTraceError("x/a and fd00::1 have no address family in common")) {
            try Self.trace(cluster, "x/a", "fd00::1")
        }

        cluster.inputs.networkPolicies = [
            networkPolicy(
                "y", "bad", ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: "ICMP", port: 1)])])
        ]
        let report = try Self.trace(cluster, "x/a", "y/a")
        #expect(report.ingress.verdict == "denied (isolated by np:y/bad)")
        #expect(
            report.skipped.map(\.description) == [
                "NetworkPolicy y/bad ingress[0]: port 0: unknown protocol ICMP; it allows nothing"
            ])
        #expect(
            report.text.contains(
                "skipped as bad input (the enforcer skips them too):\n  NetworkPolicy y/bad ingress[0]"))
    }

    @Test func json() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "y", "allow-x",
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "x"]))])])
        ]
        let report = try Self.trace(cluster, "x/a", "y/b", "udp", "81")
        let text = String(decoding: report.json.serialized(), as: UTF8.self)
        let parsed = try JSONValue(parsing: text)
        #expect(parsed["allowed"] == .bool(true))
        #expect(parsed["protocol"] == .string("UDP") && parsed["port"] == .number(81))
        #expect(parsed["source"]?["pod"] == .string("x/a") && parsed["source"]?["node"] == .string("node-1"))
        #expect(parsed["destination"]?["address"] == .string("10.244.2.21"))
        #expect(parsed["egress"]?["verdict"] == .string("no policy selects the pod: allowed"))
        #expect(parsed["egress"]?["rule"] == .null)
        #expect(parsed["ingress"]?["decidedBy"] == .string("np:y/allow-x ingress[0]"))
        #expect(parsed["ingress"]?["rule"]?["kind"] == .string("NetworkPolicy"))
        #expect(parsed["ingress"]?["rule"]?["index"] == .number(0))
        #expect(parsed["ingress"]?["node"] == .string("node-2"))
        #expect(parsed["skipped"] == .array([]))
    }

    /// The report's verdicts are the enforcer's: every pair agrees with packets walked through the rulesets.
    @Test func agreesWithTheProgrammedRulesets() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy("x", "deny-egress", select: labels(["pod": "c"]), types: ["Egress"]),
            networkPolicy(
                "y", "allow-named", select: labels(["pod": "a"]),
                ingress: [
                    NetworkPolicyIngressRule(
                        from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "x"]))],
                        ports: [NetworkPolicyPort(protocol: .tcp, port: "serve-80-tcp")])
                ]),
        ]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "deny-z", priority: 1, subject: AdminNetworkPolicySubject(namespaces: labels(["ns": "z"])),
                ingress: [
                    AdminNetworkPolicyRule(
                        action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))])
                ])
        ]
        let probe = try MatrixProbe(cluster)
        for (proto, port) in [(PolicyProtocol.tcp, 80), (.tcp, 81), (.udp, 80)] {
            let packets = try probe.packets(proto, port)
            let reports = try Reachability { from, to in
                try Self.trace(cluster, from, to, proto.rawValue, String(port)).allowed
            }
            #expect(
                reports == packets,
                Comment(rawValue: "\(proto) \(port)\n" + packets.difference(reports).joined(separator: "\n")))
        }
    }
}
