import KubeModel
import NFTables
import NFTablesTesting
import Testing
import WeftNet

@testable import Policy

/// `PolicySyncer` against the fake: the whole table first and after a failure, only elements when a pod of an
/// existing group comes or goes, nothing when nothing a policy reads changed; packets traced through the fake's
/// table with the default ruleset (denials logged to nflog group 1).
struct PolicySyncerTests {
    static let node = Cluster.node1

    /// A syncer for node-1 holding the upstream model's namespaces and pods.
    static func syncer(_ fake: FakeNFTables, _ cluster: Cluster = Cluster()) async -> PolicySyncer {
        let syncer = PolicySyncer(node: node, backend: fake)
        for namespace in cluster.inputs.namespaces { await syncer.set(namespace) }
        for pod in cluster.inputs.pods { await syncer.set(pod) }
        return syncer
    }

    static func onlyElements(_ fake: FakeNFTables, since before: String) -> Bool {
        // Dumps differ only in `add element` lines.
        let old = before.split(separator: "\n").filter { !$0.hasPrefix("add element") }
        let new = fake.dump().split(separator: "\n").filter { !$0.hasPrefix("add element") }
        return old == new
    }

    static func verdict(_ fake: FakeNFTables, from: IPAddress, to: IPAddress, port: Int = 80) throws -> PacketTrace {
        let tracer = PacketTracer(nft: fake, localAddresses: node.addresses)
        try tracer.validate()
        return try tracer.trace(TracedPacket(.tcp, from: from, to: to, port: port), path: .incoming(.forward))
    }

    static let denyIngress = networkPolicy("x", "deny-ingress", types: ["Ingress"])

    @Test func fullThenElementsOnlyThenFullAfterAFailure() async throws {
        let fake = FakeNFTables()
        let syncer = await Self.syncer(fake)
        await syncer.set(Self.denyIngress)
        let first = try await syncer.sync()
        #expect(first.full)
        #expect(first.policies.networkPolicies == 1)
        #expect(first.localPods == 6, "a and c of x, y, z run on node-1")
        #expect(first.groups == 1, "x/a and x/c share one ingress group")
        #expect(first.skipped.isEmpty)
        // The same table as the pure full sync of the same state.
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [Self.denyIngress]
        let reference = FakeNFTables()
        try reference.apply(PolicyRuleset().fullSync(cluster.compile(Self.node)))
        #expect(fake.dump() == reference.dump())
        let denied = try Self.verdict(fake, from: Cluster.address("y/a"), to: Cluster.address("x/a"))
        #expect(denied.fate == .dropped)
        #expect(
            denied.steps.flatMap(\.effects).contains(
                "log to nflog group 1 prefix \"weft-policy DROP ingress np:x/deny-ingress \""),
            "\(denied.steps.flatMap(\.effects))")

        #expect(await !syncer.hasChanges)
        #expect(try await syncer.sync().operations == 0, "nothing changed, nothing applied")

        // A status-only change of a pod is no change for policies.
        var pod = Cluster().inputs.pods[0]
        pod.status?.conditions = [PodCondition(type: "Ready", status: "True")]
        #expect(await syncer.set(pod) == false)
        #expect(await !syncer.hasChanges)

        // A new pod of x on node-1 joins the existing group: elements only (its map entry and local-pods).
        var before = fake.dump()
        var newcomer = pod
        newcomer.metadata.name = "d"
        newcomer.status?.podIPs = [PodIP(ip: "10.244.1.99")]
        #expect(await syncer.set(newcomer))
        let added = try await syncer.sync()
        #expect(!added.full)
        #expect(added.operations == 2)
        #expect(Self.onlyElements(fake, since: before))
        #expect(
            try Self.verdict(fake, from: Cluster.address("y/a"), to: IPAddress("10.244.1.99")!).decidingRule?
                .contains("np:x/deny-ingress") == true)

        // It goes again: the two elements go.
        before = fake.dump()
        #expect(await syncer.remove(newcomer))
        let removed = try await syncer.sync()
        #expect(!removed.full && removed.operations == 2)
        #expect(Self.onlyElements(fake, since: before))
        #expect(fake.dump() == reference.dump())
        #expect(await syncer.remove(newcomer) == false, "removing what is gone changes nothing")

        // A failed transaction changes nothing; the next sync replaces the table whole.
        await syncer.remove(Self.denyIngress)
        fake.failNextApply(with: NFTablesError(code: .commandFailed, operation: "apply", message: "injected"))
        await #expect(throws: NFTablesError.self) { try await syncer.sync() }
        #expect(fake.dump() == reference.dump(), "the failed sync left the table as it was")
        #expect(await syncer.hasChanges)
        let recovery = try await syncer.sync()
        #expect(recovery.full)
        #expect(recovery.groups == 0 && recovery.chains == 0 && recovery.sets == 0)
        #expect(try Self.verdict(fake, from: Cluster.address("y/a"), to: Cluster.address("x/a")).fate == .forwarded)
    }

    @Test func peerPodOnAnotherNodeChangesOnlyPeerElements() async throws {
        let fake = FakeNFTables()
        let syncer = await Self.syncer(fake)
        await syncer.set(
            networkPolicy(
                "x", "allow-b", select: labels(["pod": "a"]),
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: labels(["pod": "b"]))])]))
        try await syncer.sync()
        let before = fake.dump()
        // x/b (node-2) gets a second address in the pod CIDR of node-2: one more peer element on node-1.
        var b = Cluster().inputs.pods.first { $0.metadata.namespace == "x" && $0.metadata.name == "b" }!
        b.status?.podIPs = [PodIP(ip: "10.244.2.99")]
        #expect(await syncer.set(b))
        let report = try await syncer.sync()
        #expect(!report.full)
        #expect(report.operations == 2, "the old peer element out, the new one in")
        #expect(Self.onlyElements(fake, since: before))
        #expect(try Self.verdict(fake, from: IPAddress("10.244.2.99")!, to: Cluster.address("x/a")).fate == .forwarded)
        #expect(try Self.verdict(fake, from: Cluster.address("x/b"), to: Cluster.address("x/a")).fate == .dropped)
    }

    @Test func nodeChanges() async throws {
        let fake = FakeNFTables()
        let syncer = await Self.syncer(fake)
        await syncer.set(Self.denyIngress)
        try await syncer.sync()
        // A new address of the node (the bridge got one): an element.
        var node = Self.node
        node.addresses.append(IPAddress("10.244.1.254")!)
        #expect(await syncer.setNode(node))
        let address = try await syncer.sync()
        #expect(!address.full && address.operations == 1)
        #expect(try Self.verdict(fake, from: IPAddress("10.244.1.254")!, to: Cluster.address("x/a")).fate == .forwarded)
        #expect(await syncer.setNode(node) == false)
        // Other pod CIDRs: the skeleton's rules change, so the table is replaced.
        node.podCIDRs = [IPPrefix("10.244.1.0/24")!, IPPrefix("fd00:10:244:1::/64")!]
        #expect(await syncer.setNode(node))
        #expect(try await syncer.sync().full)
        #expect(fake.dump().contains("ip6 daddr { fd00:10:244:1::/64 }"))
    }

    @Test func badInputIsReportedAndIsolates() async throws {
        let fake = FakeNFTables()
        let syncer = await Self.syncer(fake)
        let bad = networkPolicy(
            "x", "bad-block",
            ingress: [
                NetworkPolicyIngressRule(from: [
                    NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.0.0/16", except: ["10.0.0.0/8"]))
                ])
            ])
        await syncer.set(bad)
        let report = try await syncer.sync()
        #expect(report.skipped.count == 1, "\(report.skipped)")
        #expect(report.skipped.first?.what == "NetworkPolicy x/bad-block ingress[0]")
        // The policy still isolates x: fail closed.
        #expect(try Self.verdict(fake, from: Cluster.address("y/a"), to: Cluster.address("x/a")).fate == .dropped)
    }

    /// Admin policies flow through the syncer too: an ANP Deny beats a NetworkPolicy Allow.
    @Test func adminDenyOverNetworkPolicyAllow() async throws {
        let fake = FakeNFTables()
        let syncer = await Self.syncer(fake)
        await syncer.set(
            networkPolicy(
                "x", "allow-all-in", ingress: [NetworkPolicyIngressRule(from: nil)]))
        await syncer.set(
            adminPolicy(
                "deny-y", priority: 10,
                subject: AdminNetworkPolicySubject(namespaces: labels(["ns": "x"])),
                ingress: [
                    AdminNetworkPolicyRule(
                        name: "no-y", action: "Deny",
                        from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "y"]))])
                ]))
        let report = try await syncer.sync()
        #expect(report.policies.adminNetworkPolicies == 1)
        let denied = try Self.verdict(fake, from: Cluster.address("y/a"), to: Cluster.address("x/a"))
        #expect(denied.fate == .dropped)
        #expect(denied.decidingRule?.contains("anp:deny-y/ingress[0]") == true)
        #expect(try Self.verdict(fake, from: Cluster.address("z/a"), to: Cluster.address("x/a")).fate == .forwarded)
    }
}
