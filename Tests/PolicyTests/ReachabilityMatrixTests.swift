import KubeModel
import Testing
import WeftNet

@testable import Policy

/// The cases of issue 7's Tests section over the upstream model: each computes the 81-pair matrix through
/// `PolicyTracer` and through `PacketTracer` over both nodes' programmed rulesets and compares with the expected.
struct ReachabilityMatrixTests {
    @Test func noPoliciesAllowEverything() throws {
        try expectMatrix(Reachability(), MatrixProbe(Cluster()))
    }

    @Test func defaultDenyIngress() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-ingress", types: ["Ingress"])]
        var expected = Reachability()
        expected.expect(to: inNamespace("x"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func defaultDenyEgress() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-egress", types: ["Egress"])]
        var expected = Reachability()
        expected.expect(from: inNamespace("x"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func denyAll() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-all", types: ["Ingress", "Egress"])]
        var expected = Reachability()
        expected.expect(from: inNamespace("x"), false)
        expected.expect(to: inNamespace("x"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func allowFromSameNamespaceByPodSelector() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-b", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: labels(["pod": "b"]))])])
        ]
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected["x/b", "x/a"] = true
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func namespaceSelectorOnly() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-y", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "y"]))])])
        ]
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected.expect(from: inNamespace("y"), to: isPod("x/a"), true)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func podAndNamespaceSelectorInOnePeerIsAnd() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-y-b", select: labels(["pod": "a"]),
                ingress: [
                    NetworkPolicyIngressRule(from: [
                        NetworkPolicyPeer(podSelector: labels(["pod": "b"]), namespaceSelector: labels(["ns": "y"]))
                    ])
                ])
        ]
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected["y/b", "x/a"] = true
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func podAndNamespaceSelectorInTwoPeersIsOr() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-y-or-b", select: labels(["pod": "a"]),
                ingress: [
                    NetworkPolicyIngressRule(from: [
                        NetworkPolicyPeer(podSelector: labels(["pod": "b"])),
                        NetworkPolicyPeer(namespaceSelector: labels(["ns": "y"])),
                    ])
                ])
        ]
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected.expect(from: inNamespace("y"), to: isPod("x/a"), true)
        expected["x/b", "x/a"] = true
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func matchExpressions() throws {
        var cluster = Cluster()
        let notY = LabelSelector(matchExpressions: [
            LabelSelectorRequirement(key: "ns", operator: .notIn, values: ["y"])
        ])
        let notC = LabelSelector(matchExpressions: [
            LabelSelectorRequirement(key: "pod", operator: .in, values: ["a", "b"])
        ])
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "expressions", select: labels(["pod": "a"]),
                ingress: [
                    NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: notC, namespaceSelector: notY)])
                ])
        ]
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        for from in ["x/b", "z/a", "z/b"] { expected[from, "x/a"] = true }
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func numericPort() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-81", select: labels(["pod": "a"]), ingress: [NetworkPolicyIngressRule(ports: [tcp(81)])])
        ]
        let probe = try MatrixProbe(cluster)
        try expectMatrix(Reachability(), probe, .tcp, 81)
        var denied = Reachability()
        denied.expect(to: isPod("x/a"), false)
        try expectMatrix(denied, probe, .tcp, 80)
    }

    @Test func namedPort() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-named", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: "serve-81-tcp")])])
        ]
        let probe = try MatrixProbe(cluster)
        try expectMatrix(Reachability(), probe, .tcp, 81)
        var denied = Reachability()
        denied.expect(to: isPod("x/a"), false)
        try expectMatrix(denied, probe, .tcp, 80)
        try expectMatrix(denied, probe, .udp, 81)
    }

    @Test func namedPortOnEgressResolvesOnEachDestination() throws {
        var cluster = Cluster()
        // y/b serves its "serve-81-tcp" on 82 instead: egress to the name reaches it there, and 81 elsewhere.
        let index = cluster.inputs.pods.firstIndex { $0.metadata.namespace == "y" && $0.metadata.name == "b" }!
        cluster.inputs.pods[index].spec?.containers[0].ports = [
            ContainerPort(name: "serve-81-tcp", containerPort: 82, protocol: .tcp)
        ]
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "egress-named", select: labels(["pod": "a"]), types: ["Egress"],
                egress: [NetworkPolicyEgressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: "serve-81-tcp")])])
        ]
        let probe = try MatrixProbe(cluster)
        var at81 = Reachability()
        at81["x/a", "y/b"] = false
        try expectMatrix(at81, probe, .tcp, 81)
        var at82 = Reachability()
        at82.expect(from: isPod("x/a"), false)
        at82["x/a", "y/b"] = true
        try expectMatrix(at82, probe, .tcp, 82)
    }

    @Test func endPort() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "range", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(ports: [tcp(80, endPort: 81)])]),
            networkPolicy(
                "x", "below", select: labels(["pod": "b"]),
                ingress: [NetworkPolicyIngressRule(ports: [tcp(79, endPort: 80)])]),
        ]
        let probe = try MatrixProbe(cluster)
        try expectMatrix(Reachability(), probe, .tcp, 80)
        var at81 = Reachability()
        at81.expect(to: isPod("x/b"), false)
        try expectMatrix(at81, probe, .tcp, 81)
    }

    @Test func ipBlockWithExcept() throws {
        var cluster = Cluster()
        let xb = Cluster.address("x/b")
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "block", select: labels(["pod": "a"]),
                ingress: [
                    NetworkPolicyIngressRule(from: [
                        NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.0.0/16", except: ["\(xb)/32"]))
                    ])
                ])
        ]
        var expected = Reachability()
        expected["x/b", "x/a"] = false
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func ipBlockOnEgress() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "to-node-2", select: labels(["pod": "a"]), types: ["Egress"],
                egress: [NetworkPolicyEgressRule(to: [NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.2.0/24"))])])
        ]
        var expected = Reachability()
        expected.expect(from: isPod("x/a"), false)
        expected.expect(from: isPod("x/a"), to: { $0.hasSuffix("/b") }, true)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func stackedPolicies() throws {
        var cluster = Cluster()
        func allow(_ ns: String) -> NetworkPolicy {
            networkPolicy(
                "x", "allow-\(ns)", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": ns]))])])
        }
        cluster.inputs.networkPolicies = [allow("y"), allow("z")]
        var expected = Reachability()
        expected.expect(from: inNamespace("x"), to: isPod("x/a"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func egressDeniedOnTheClientWhileTheServerAllows() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy("x", "deny-egress-a", select: labels(["pod": "a"]), types: ["Egress"]),
            networkPolicy("y", "allow-all", ingress: [NetworkPolicyIngressRule()]),
        ]
        var expected = Reachability()
        expected.expect(from: isPod("x/a"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func udpIsNotAllowedByATCPRule() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "tcp-80", select: labels(["pod": "a"]), ingress: [NetworkPolicyIngressRule(ports: [tcp(80)])])
        ]
        let probe = try MatrixProbe(cluster)
        try expectMatrix(Reachability(), probe, .tcp, 80)
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        try expectMatrix(expected, probe, .udp, 80)
    }

    // MARK: AdminNetworkPolicy, BaselineAdminNetworkPolicy

    static let subjectX = AdminNetworkPolicySubject(namespaces: labels(["ns": "x"]))

    @Test func adminDenyOverNetworkPolicyAllow() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "allow-all", ingress: [NetworkPolicyIngressRule()])]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "deny-y", priority: 10, subject: Self.subjectX,
                ingress: [
                    AdminNetworkPolicyRule(
                        action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))])
                ])
        ]
        var expected = Reachability()
        expected.expect(from: inNamespace("y"), to: inNamespace("x"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func adminAllowOverNetworkPolicyDeny() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-ingress", types: ["Ingress"])]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "allow-y", priority: 10, subject: Self.subjectX,
                ingress: [
                    AdminNetworkPolicyRule(
                        action: "Allow", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))])
                ])
        ]
        var expected = Reachability()
        expected.expect(to: inNamespace("x"), false)
        expected.expect(from: inNamespace("y"), to: inNamespace("x"), true)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func adminPassFallsToNetworkPolicy() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-y-to-a", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "y"]))])])
        ]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "pass-y", priority: 5, subject: Self.subjectX,
                ingress: [
                    AdminNetworkPolicyRule(
                        action: "Pass", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))])
                ]),
            adminPolicy(
                "deny-all", priority: 10, subject: Self.subjectX,
                ingress: [
                    AdminNetworkPolicyRule(action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: LabelSelector())])
                ]),
        ]
        var expected = Reachability()
        expected.expect(to: inNamespace("x"), false)
        expected.expect(from: inNamespace("y"), to: inNamespace("x"), true)
        // Passed to NetworkPolicy: x/a is isolated and allows y; x/b and x/c are not isolated.
        try expectMatrix(expected, MatrixProbe(cluster))
        let trace = PolicyTracer(nodes: cluster.compiledNodes())
            .trace(from: Cluster.address("y/a"), to: Cluster.address("x/a"), protocol: .tcp, port: 80)
        #expect(trace.ingress.decidedBy?.policy == "x/allow-y-to-a")
        #expect(trace.ingress.reason.hasPrefix("passed by AdminNetworkPolicy pass-y"))
    }

    @Test func baselineDenyUnderNetworkPolicyAllow() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-y-to-a", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "y"]))])])
        ]
        cluster.inputs.baselineAdminNetworkPolicies = [
            BaselineAdminNetworkPolicy(
                metadata: ObjectMeta(name: "default"),
                spec: BaselineAdminNetworkPolicySpec(
                    subject: Self.subjectX,
                    ingress: [
                        AdminNetworkPolicyRule(
                            action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: LabelSelector())])
                    ]))
        ]
        var expected = Reachability()
        expected.expect(to: inNamespace("x"), false)
        expected.expect(from: inNamespace("y"), to: isPod("x/a"), true)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func adminEgressDenyWithPortsAndPriorities() throws {
        var cluster = Cluster()
        let toZ = [
            AdminNetworkPolicyPeer(
                pods: NamespacedPodSelector(namespaceSelector: labels(["ns": "z"]), podSelector: LabelSelector()))
        ]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "allow-z-81", priority: 1, subject: Self.subjectX,
                egress: [
                    AdminNetworkPolicyRule(
                        action: "Allow", to: toZ,
                        ports: [AdminNetworkPolicyPort(portNumber: .init(protocol: .tcp, port: 81))])
                ]),
            adminPolicy(
                "deny-z", priority: 2, subject: Self.subjectX,
                egress: [AdminNetworkPolicyRule(name: "no z", action: "Deny", to: toZ)]),
        ]
        let probe = try MatrixProbe(cluster)
        var at80 = Reachability()
        at80.expect(from: inNamespace("x"), to: inNamespace("z"), false)
        try expectMatrix(at80, probe, .tcp, 80)
        try expectMatrix(Reachability(), probe, .tcp, 81)
        let trace = PolicyTracer(nodes: probe.nodes)
            .trace(from: Cluster.address("x/a"), to: Cluster.address("z/c"), protocol: .tcp, port: 80)
        #expect(trace.egress.decidedBy?.description == "AdminNetworkPolicy deny-z egress[0] \"no z\"")
        #expect(trace.ingress.allowed)
    }

    /// Egress `nodes` peers: the selected nodes' InternalIP and ExternalIP addresses (not Hostname, not other nodes).
    @Test func adminEgressToNodesBySelector() throws {
        var cluster = Cluster()
        func node(_ name: String, _ role: String, _ addresses: [(String, String)]) -> Node {
            var status = NodeStatus()
            status.addresses = addresses.map { NodeAddress(type: $0.0, address: $0.1) }
            return Node(metadata: ObjectMeta(name: name, labels: ["role": role]), status: status)
        }
        cluster.inputs.nodes = [
            node("node-1", "worker", [("InternalIP", "192.168.50.1"), ("Hostname", "node-1")]),
            node("node-2", "control-plane", [("InternalIP", "192.168.50.2"), ("ExternalIP", "203.0.113.2")]),
        ]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "no-control-plane", priority: 5, subject: Self.subjectX,
                egress: [
                    AdminNetworkPolicyRule(
                        name: "api", action: "Deny",
                        to: [AdminNetworkPolicyPeer(nodes: labels(["role": "control-plane"]))])
                ])
        ]
        let probe = try MatrixProbe(cluster)
        #expect(probe.nodes.allSatisfy { $0.skipped.isEmpty })
        let tracer = PolicyTracer(nodes: probe.nodes)
        func egressAllowed(_ from: String, _ to: String) -> Bool {
            tracer.trace(from: Cluster.address(from), to: IPAddress(to)!, protocol: .tcp, port: 6443).egress.allowed
        }
        #expect(!egressAllowed("x/a", "192.168.50.2"))
        #expect(!egressAllowed("x/b", "203.0.113.2"))
        #expect(egressAllowed("x/a", "192.168.50.1"))
        #expect(egressAllowed("y/a", "192.168.50.2"))
        // Pods are not nodes: the matrix is untouched.
        try expectMatrix(Reachability(), probe)
        // A node's labels changing moves it in or out of the peer.
        cluster.inputs.nodes[0].metadata.labels = ["role": "control-plane"]
        let relabelled = PolicyTracer(nodes: try MatrixProbe(cluster).nodes)
        #expect(
            !relabelled.trace(
                from: Cluster.address("x/a"), to: IPAddress("192.168.50.1")!, protocol: .tcp, port: 6443
            ).egress.allowed)
    }
}
