import KubeModel
import Testing
import WeftNet

@testable import Policy

/// Bad input is skipped with a reason, and never opens a pod a policy isolates.
struct PolicyBadInputTests {
    static let bogus = LabelSelector(matchExpressions: [
        LabelSelectorRequirement(key: "pod", operator: "Bogus", values: ["a"])
    ])

    func skipped(_ cluster: Cluster) -> [PolicySkip] { cluster.compile(Cluster.node1).skipped }

    @Test func unparsableSubjectSelectorIsolatesTheWholeNamespace() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy("x", "bad-subject", select: Self.bogus, ingress: [NetworkPolicyIngressRule()])
        ]
        let reasons = skipped(cluster)
        #expect(reasons.count == 1)
        #expect(reasons.first?.what == "NetworkPolicy x/bad-subject")
        #expect(reasons.first?.reason.contains("isolates every pod of namespace x") == true)
        var expected = Reachability()
        expected.expect(to: inNamespace("x"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    /// Each bad rule allows nothing; the good rule beside it still allows, and the pod stays isolated.
    @Test(arguments: [
        (
            "except outside",
            NetworkPolicyIngressRule(from: [
                NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.0.0/16", except: ["10.0.0.0/24"]))
            ]), "is not inside"
        ),
        (
            "bad cidr", NetworkPolicyIngressRule(from: [NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.0.0"))]),
            "is not a CIDR"
        ),
        ("endPort below port", NetworkPolicyIngressRule(ports: [tcp(81, endPort: 80)]), "endPort 80 below port 81"),
        (
            "endPort with a named port",
            NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: "serve-80-tcp", endPort: 81)]),
            "endPort with the named port"
        ),
        (
            "endPort without a port", NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, endPort: 81)]),
            "endPort without a port"
        ),
        (
            "unknown protocol", NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: "ICMP", port: 80)]),
            "unknown protocol ICMP"
        ),
        (
            "bad peer selector", NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: Self.bogus)]),
            "Unsupported value: \"Bogus\""
        ),
        (
            "In without values",
            NetworkPolicyIngressRule(from: [
                NetworkPolicyPeer(
                    podSelector: LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "pod", operator: .in)]))
            ]), "must be specified when `operator` is 'In' or 'NotIn'"
        ),
        (
            "Exists with values",
            NetworkPolicyIngressRule(from: [
                NetworkPolicyPeer(
                    namespaceSelector: LabelSelector(matchExpressions: [
                        LabelSelectorRequirement(key: "ns", operator: .exists, values: ["x"])
                    ]))
            ]), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        ),
        (
            "except of another family",
            NetworkPolicyIngressRule(from: [
                NetworkPolicyPeer(ipBlock: IPBlock(cidr: "0.0.0.0/0", except: ["fd00::/64"]))
            ]), "is not inside"
        ),
        (
            "except equal to its cidr",
            NetworkPolicyIngressRule(from: [
                NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.0.0/16", except: ["10.244.0.0/16"]))
            ]), "is not inside"
        ),
        ("port 0", NetworkPolicyIngressRule(ports: [tcp(0)]), "port 0 out of range"),
        ("endPort above 65535", NetworkPolicyIngressRule(ports: [tcp(80, endPort: 70000)]), "above 65535"),
        ("empty peer", NetworkPolicyIngressRule(from: [NetworkPolicyPeer()]), "has no podSelector"),
        (
            "ipBlock with a selector",
            NetworkPolicyIngressRule(from: [
                NetworkPolicyPeer(podSelector: LabelSelector(), ipBlock: IPBlock(cidr: "10.0.0.0/8"))
            ]), "an ipBlock and selectors"
        ),
    ])
    func badRuleAllowsNothing(_ name: String, _ rule: NetworkPolicyIngressRule, _ reason: String) throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "mixed", select: labels(["pod": "a"]),
                ingress: [rule, NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: labels(["pod": "b"]))])])
        ]
        let reasons = skipped(cluster)
        #expect(reasons.map(\.what) == ["NetworkPolicy x/mixed ingress[0]"], "\(name)")
        #expect(reasons.first?.reason.contains(reason) == true, "\(name): \(reasons)")
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected["x/b", "x/a"] = true
        let probe = try MatrixProbe(cluster)
        try expectMatrix(expected, probe, .tcp, 80, name)
        try expectMatrix(expected, probe, .tcp, 81, name)
    }

    @Test func unknownPolicyTypesFallBackToTheDefaulting() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "typo", types: ["Ingres"])]
        #expect(skipped(cluster).first?.reason.contains("unknown policyTypes Ingres") == true)
        var expected = Reachability()
        expected.expect(to: inNamespace("x"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func badAdminPoliciesAreReported() throws {
        var cluster = Cluster()
        let deny = [AdminNetworkPolicyRule(action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: LabelSelector())])]
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy("bad-priority", priority: 1001, subject: ReachabilityMatrixTests.subjectX, ingress: deny),
            adminPolicy(
                "two-subjects", priority: 1,
                subject: AdminNetworkPolicySubject(namespaces: LabelSelector(), pods: NamespacedPodSelector()),
                ingress: deny),
            adminPolicy(
                "bad-rules", priority: 2, subject: ReachabilityMatrixTests.subjectX,
                ingress: [
                    AdminNetworkPolicyRule(
                        action: "Reject", from: [AdminNetworkPolicyPeer(namespaces: LabelSelector())]),
                    AdminNetworkPolicyRule(action: "Deny", from: []),
                    AdminNetworkPolicyRule(
                        action: "Allow", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))],
                        ports: [AdminNetworkPolicyPort(portRange: .init(start: 90, end: 80))]),
                ]),
        ]
        cluster.inputs.baselineAdminNetworkPolicies = [
            BaselineAdminNetworkPolicy(
                metadata: ObjectMeta(name: "other"),
                spec: BaselineAdminNetworkPolicySpec(subject: ReachabilityMatrixTests.subjectX, ingress: deny))
        ]
        let reasons = skipped(cluster).map(\.description)
        #expect(reasons.count == 6, "\(reasons)")
        #expect(reasons.contains { $0.hasPrefix("AdminNetworkPolicy bad-priority: priority 1001") })
        #expect(reasons.contains { $0.hasPrefix("AdminNetworkPolicy two-subjects: the subject needs exactly one") })
        #expect(reasons.contains { $0.hasPrefix("AdminNetworkPolicy bad-rules ingress[0]: unknown action \"Reject\"") })
        #expect(reasons.contains { $0.contains("ingress[1]: no peers; it is left out and denies nothing") })
        #expect(reasons.contains { $0.contains("port range 90-80") })
        #expect(reasons.contains { $0.hasPrefix("BaselineAdminNetworkPolicy other") })
        // Nothing enforced from them.
        try expectMatrix(Reachability(), MatrixProbe(cluster))
    }

    /// AdminNetworkPolicyEgressPeer: a peer with none of the fields the implementation knows comes from a newer CRD;
    /// "fail closed": an Allow rule matches nothing, a Deny or Pass rule denies all traffic. Ingress peers know only
    /// namespaces and pods (the CRD prunes `nodes` there).
    @Test func peersWithNoKnownFieldFailClosed() throws {
        var cluster = Cluster()
        cluster.inputs.adminNetworkPolicies = [
            adminPolicy(
                "unknown-allow", priority: 1, subject: ReachabilityMatrixTests.subjectX,
                egress: [AdminNetworkPolicyRule(action: "Allow", to: [AdminNetworkPolicyPeer()])]),
            adminPolicy(
                "unknown-pass", priority: 2, subject: ReachabilityMatrixTests.subjectX,
                ingress: [
                    AdminNetworkPolicyRule(action: "Pass", from: [AdminNetworkPolicyPeer(nodes: LabelSelector())])
                ]
            ),
        ]
        let reasons = skipped(cluster).map(\.description)
        #expect(
            reasons == [
                "AdminNetworkPolicy unknown-allow egress[0]: a peer sets no field known for egress peers; it allows nothing",
                "AdminNetworkPolicy unknown-pass ingress[0]: a peer sets no field known for ingress peers; it denies all traffic",
            ])
        var expected = Reachability()
        expected.expect(to: inNamespace("x"), false)
        try expectMatrix(expected, MatrixProbe(cluster))
    }

    @Test func hostNetworkAndFinishedPodsAreNeitherSubjectsNorPeers() throws {
        var cluster = Cluster()
        cluster.inputs.pods[0].spec?.hostNetwork = true  // x/a
        cluster.inputs.pods[1].status?.phase = "Succeeded"  // x/b
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-ingress", types: ["Ingress"])]
        let compiled = cluster.compile(Cluster.node1)
        #expect(!compiled.localPods.contains { $0.namespace == "x" && $0.name == "a" })
        #expect(compiled.ingress.keys.sorted() == [Cluster.address("x/c")])
        #expect(!cluster.compile(Cluster.node2).localPods.contains { $0.namespace == "x" && $0.name == "b" })
        // Nor peers: a policy allowing every pod of the cluster does not list them.
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "from-pods", types: ["Ingress"],
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: LabelSelector())])])
        ]
        let group = cluster.compile(Cluster.node1).group(for: Cluster.address("x/c"), .ingress)!
        #expect(!group.networkAllow.matches(peer: Cluster.address("x/b"), protocol: .tcp, port: 80))
        #expect(group.networkAllow.matches(peer: Cluster.address("y/b"), protocol: .tcp, port: 80))
    }
}
