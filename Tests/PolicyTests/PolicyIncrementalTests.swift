import KubeModel
import NFTables
import NFTablesTesting
import Testing
import WeftNet

@testable import Policy

/// Each node's table programmed once in full, then moved along by `PolicyKernelState` diffs: each diff must be
/// small (only what the change touches), leave the table exactly as a full sync of the new state would, and
/// give the new matrix.
struct PolicyIncrementalTests {
    struct Enforcer {
        var fakes: [String: FakeNFTables] = [:]
        var states: [String: PolicyKernelState] = [:]
        let ruleset = PolicyRuleset()

        init(_ cluster: Cluster) throws {
            for node in Cluster.nodes {
                let compiled = cluster.compile(node)
                var tx = Transaction()
                tx.append(contentsOf: ruleset.skeleton(node: node))
                var state = PolicyKernelState()
                tx.append(contentsOf: state.update(to: ruleset.objects(compiled)))
                let nft = FakeNFTables()
                try nft.apply(tx)
                fakes[node.name] = nft
                states[node.name] = state
            }
        }

        /// Syncs every node; returns each node's transaction.
        mutating func sync(_ cluster: Cluster) throws -> [String: Transaction] {
            var out: [String: Transaction] = [:]
            for node in Cluster.nodes {
                let compiled = cluster.compile(node)
                let tx = states[node.name]!.update(to: ruleset.objects(compiled))
                if !tx.isEmpty { try fakes[node.name]!.apply(tx) }
                out[node.name] = tx
                let fresh = FakeNFTables()
                try fresh.apply(ruleset.fullSync(compiled))
                #expect(
                    fakes[node.name]!.dump() == fresh.dump(), "\(node.name) after the diff differs from a full sync")
            }
            return out
        }

        func matrix(_ protocol: PolicyProtocol = .tcp, _ port: Int = 80) throws -> Reachability {
            try MatrixProbe.packets(fakes: fakes, `protocol`, port)
        }
    }

    static func onlyElements(_ tx: Transaction) -> Bool {
        tx.operations.allSatisfy { if case .element = $0.object { return true } else { return false } }
    }

    static let allowFromB = networkPolicy(
        "x", "allow-b", select: labels(["pod": "a"]),
        ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: labels(["pod": "b"]))])])

    @Test func nothingChangedIsAnEmptyTransaction() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [Self.allowFromB]
        var enforcer = try Enforcer(cluster)
        let txs = try enforcer.sync(cluster)
        #expect(txs.values.allSatisfy { $0.isEmpty })
    }

    @Test func podLabelChangeChangesOnlyElements() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [Self.allowFromB]
        var enforcer = try Enforcer(cluster)
        cluster.setPodLabels("x/c", ["pod": "b"])
        let txs = try enforcer.sync(cluster)
        #expect(txs["node-1"]!.count == 1)
        #expect(txs["node-1"].map(Self.onlyElements) == true)
        #expect(txs["node-2"]!.isEmpty)
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected["x/b", "x/a"] = true
        expected["x/c", "x/a"] = true
        #expect(try enforcer.matrix() == expected)
    }

    @Test func subjectLabelChangeMovesThePodBetweenGroups() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [Self.allowFromB]
        var enforcer = try Enforcer(cluster)
        // x/c joins x/a's group (same policy): its verdict-map entry is added, nothing else.
        cluster.setPodLabels("x/c", ["pod": "a"])
        let txs = try enforcer.sync(cluster)
        #expect(txs["node-1"].map(Self.onlyElements) == true)
        var expected = Reachability()
        expected.expect(to: { $0 == "x/a" || $0 == "x/c" }, false)
        expected["x/b", "x/a"] = true
        expected["x/b", "x/c"] = true
        #expect(try enforcer.matrix() == expected)
    }

    @Test func namespaceLabelChangeChangesOnlyElements() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy(
                "x", "allow-y", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "y"]))])])
        ]
        var enforcer = try Enforcer(cluster)
        cluster.setNamespaceLabels("z", ["ns": "y"])
        let txs = try enforcer.sync(cluster)
        #expect(txs["node-1"].map(Self.onlyElements) == true)
        #expect(txs["node-1"]!.count > 0)
        var expected = Reachability()
        expected.expect(from: inNamespace("x"), to: isPod("x/a"), false)
        #expect(try enforcer.matrix() == expected)
    }

    @Test func policyUpdateOfPeersChangesOnlyElements() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [Self.allowFromB]
        var enforcer = try Enforcer(cluster)
        cluster.inputs.networkPolicies[0].spec?.ingress = [
            NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "z"]))])
        ]
        let txs = try enforcer.sync(cluster)
        #expect(txs["node-1"].map(Self.onlyElements) == true)
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected.expect(from: inNamespace("z"), to: isPod("x/a"), true)
        #expect(try enforcer.matrix() == expected)
    }

    @Test func policyUpdateOfShapeRewritesOnlyItsGroupsChain() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            Self.allowFromB, networkPolicy("y", "deny-ingress", types: ["Ingress"]),
        ]
        var enforcer = try Enforcer(cluster)
        cluster.inputs.networkPolicies[0].spec?.ingress?[0].ports = [tcp(81)]
        let txs = try enforcer.sync(cluster)
        let chains = Set(
            txs["node-1"]!.operations.compactMap { operation -> String? in
                switch operation.object {
                case .chain(let chain): chain.name
                case .rule(let rule): rule.chain
                default: nil
                }
            })
        let group = cluster.compile(Cluster.node1).ingress[Cluster.address("x/a")]!
        #expect(chains == [group])
        var expected = Reachability()
        expected.expect(to: isPod("x/a"), false)
        expected.expect(to: inNamespace("y"), false)
        #expect(try enforcer.matrix() == expected)
        expected["x/b", "x/a"] = true
        #expect(try enforcer.matrix(.tcp, 81).allowed["x/b>x/a"] == true)
    }

    @Test func policyDeletionRemovesItsGroups() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-all", types: ["Ingress", "Egress"])]
        var enforcer = try Enforcer(cluster)
        var denied = Reachability()
        denied.expect(from: inNamespace("x"), false)
        denied.expect(to: inNamespace("x"), false)
        #expect(try enforcer.matrix() == denied)
        cluster.inputs.networkPolicies = []
        _ = try enforcer.sync(cluster)
        #expect(try enforcer.matrix() == Reachability())
        #expect(enforcer.states["node-1"]!.counts.chains == 0)
        #expect(enforcer.states["node-1"]!.counts.sets == 0)
    }

    @Test func newPodOfAnExistingGroupIsElementsOnlyAndIsolatedAtOnce() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-ingress", types: ["Ingress"])]
        var enforcer = try Enforcer(cluster)
        // Before the agent knows it, a pod in node-1's pod CIDR is unknown: dropped both ways.
        let tracer = PacketTracer(nft: enforcer.fakes["node-1"]!, localAddresses: Cluster.node1.addresses)
        let newcomer = IPAddress("10.244.1.99")!
        let out = try tracer.trace(
            TracedPacket(.tcp, from: newcomer, to: Cluster.address("y/a"), port: 80), path: .incoming(.forward))
        #expect(out.fate == .dropped)
        #expect(out.decidingRule?.contains("unknown-pod") == true)

        var pod = cluster.inputs.pods[0]
        pod.metadata.name = "d"
        pod.status?.podIPs = [PodIP(ip: newcomer.description)]
        cluster.inputs.pods.append(pod)
        let txs = try enforcer.sync(cluster)
        #expect(txs["node-1"].map(Self.onlyElements) == true)
        #expect(txs["node-1"]!.count == 2)  // its verdict-map entry and local-pods element
        tracer.forgetConnections()
        let again = try tracer.trace(
            TracedPacket(.tcp, from: newcomer, to: Cluster.address("y/a"), port: 80), path: .incoming(.forward))
        #expect(again.fate == .forwarded)
        let inbound = try tracer.trace(
            TracedPacket(.tcp, from: Cluster.address("z/a"), to: newcomer, port: 80), path: .incoming(.forward))
        #expect(inbound.fate == .dropped)
        #expect(inbound.decidingRule?.contains("np:x/deny-ingress") == true)
    }

    @Test func repliesAndTheNodeItselfAreAllowed() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-all", types: ["Ingress", "Egress"])]
        let enforcer = try Enforcer(cluster)
        let tracer = PacketTracer(nft: enforcer.fakes["node-1"]!, localAddresses: Cluster.node1.addresses)
        // A kubelet probe from the node's own address (arriving over the bridge) is allowed.
        let probe = try tracer.trace(
            TracedPacket(.tcp, from: IPAddress("10.244.1.1")!, to: Cluster.address("x/a"), port: 80),
            path: .incoming(.forward))
        #expect(probe.fate == .forwarded)
        // A denied first packet.
        let packet = TracedPacket(.tcp, from: Cluster.address("y/a"), to: Cluster.address("x/a"), port: 80)
        #expect(try tracer.trace(packet, path: .incoming(.forward)).fate == .dropped)
    }

    @Test func establishedConnectionsSurviveANewPolicy() throws {
        var cluster = Cluster()
        var enforcer = try Enforcer(cluster)
        let tracer = PacketTracer(nft: enforcer.fakes["node-1"]!, localAddresses: Cluster.node1.addresses)
        let packet = TracedPacket(.tcp, from: Cluster.address("y/a"), to: Cluster.address("x/a"), port: 80)
        #expect(try tracer.trace(packet, path: .incoming(.forward)).fate == .forwarded)
        cluster.inputs.networkPolicies = [networkPolicy("x", "deny-all", types: ["Ingress", "Egress"])]
        _ = try enforcer.sync(cluster)
        let later = try tracer.trace(packet, path: .incoming(.forward))
        #expect(later.fate == .forwarded)
        #expect(later.matchedRules.first == "ct state established,related accept")
        tracer.forgetConnections()
        #expect(try tracer.trace(packet, path: .incoming(.forward)).fate == .dropped)
    }
}
