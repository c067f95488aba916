import Agent
import Foundation
import KubeClient
import KubeModel
import Logging
import NFTables
import NFTablesTesting
import Policy
import Testing
import WeftNet

/// The PolicyAgent driven by a real `APIServer` through its informers, on the fake nftables: the node view (pod
/// CIDRs from the Node object, addresses from it and the namespace), policies of all three kinds, status-only pod
/// changes that cause no sync, a failed sync retried in full, the metrics and health.
@Suite struct PolicyAgentTests {
    static func pod(_ name: String, labels: [String: String], ip: String) throws -> Pod {
        try object(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name), namespace: a, labels: {\(labels.map { "\($0): \($1)" }.joined(separator: ", "))}}
            spec: {nodeName: node-1, containers: [{name: c, image: x}]}
            """)
    }

    /// Creates the pod and reports it running at `ip`, as a kubelet would.
    static func run(_ client: KubeClient, _ name: String, labels: [String: String], ip: String) async throws -> Pod {
        var pod = try await client.create(try Self.pod(name, labels: labels, ip: ip))
        var status = PodStatus()
        status.phase = "Running"
        status.podIP = ip
        status.podIPs = [PodIP(ip: ip)]
        pod.status = status
        return try await client.updateStatus(pod)
    }

    static func elements(_ fake: FakeNFTables, _ set: String) -> [String] {
        ((try? fake.listElements(family: .inet, table: PolicyRuleset.table, set: set)) ?? []).map(\.key).sorted()
    }

    static func fate(_ fake: FakeNFTables, from: String, to: String) throws -> PacketTrace.Fate {
        let tracer = PacketTracer(nft: fake, localAddresses: [ip("192.168.0.1"), ip("10.244.1.1")])
        return try tracer.trace(TracedPacket(.tcp, from: from, to: to, port: 80), path: .incoming(.forward)).fate
    }

    @Test func enforcesFromTheAPIAndReportsMetrics() async throws {
        try await withAPIServer { client in
            _ = try await client.create(
                try object("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: a}}") as Namespace)
            _ = try await client.create(
                kubeNode("node-1", podCIDRs: ["10.244.1.0/24"], internalIPs: ["192.168.0.1"]))
            let web = try await Self.run(client, "web", labels: ["app": "web"], ip: "10.244.1.10")
            _ = try await Self.run(client, "client", labels: ["app": "client"], ip: "10.244.1.11")

            let fake = FakeNFTables()
            let syncer = PolicySyncer(node: PolicyNode(name: "node-1"), backend: fake)
            let policyMetrics = PolicyMetrics()
            let metrics = AgentMetrics(policy: policyMetrics)
            metrics.recordSynced()
            #expect(!metrics.health.healthy && metrics.health.message.contains("network policy"))
            let agent = PolicyAgent(
                client: client, nodeName: "node-1", syncer: syncer, metrics: policyMetrics,
                localAddresses: { [ip("10.244.1.1"), ip("127.0.0.1")] }, minimumInterval: .milliseconds(10),
                retryInterval: .milliseconds(50), addressInterval: .milliseconds(200))

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await agent.run() }
                defer { group.cancelAll() }
                try await eventually("the first sync") { policyMetrics.isHealthy }
                #expect(metrics.health.healthy)
                // The node: its pod CIDR from the Node object, its addresses from the Node and the namespace.
                #expect(Self.elements(fake, "node-addresses4") == ["10.244.1.1", "127.0.0.1", "192.168.0.1"])
                #expect(Self.elements(fake, "local-pods4") == ["10.244.1.10", "10.244.1.11"])
                #expect(fake.dump().contains("ip daddr { 10.244.1.0/24 } ip daddr != @local-pods4"))
                #expect(try Self.fate(fake, from: "10.244.1.11", to: "10.244.1.10") == .forwarded)
                // Before any policy, an address of the pod CIDR that is no pod is dropped.
                #expect(try Self.fate(fake, from: "10.244.1.99", to: "10.244.1.10") == .dropped)

                // A NetworkPolicy isolating web except from the client.
                _ = try await client.create(
                    try object(
                        """
                        apiVersion: networking.k8s.io/v1
                        kind: NetworkPolicy
                        metadata: {name: web, namespace: a}
                        spec:
                          podSelector: {matchLabels: {app: web}}
                          ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
                        """) as NetworkPolicy)
                try await eventually("the policy enforced") {
                    (try? Self.fate(fake, from: "10.244.1.99", to: "10.244.1.10")) == .dropped
                        && (try? Self.fate(fake, from: "192.168.5.5", to: "10.244.1.10")) == .dropped
                }
                #expect(try Self.fate(fake, from: "10.244.1.11", to: "10.244.1.10") == .forwarded)

                // An AdminNetworkPolicy denying the client beats it.
                _ = try await client.create(
                    try object(
                        """
                        apiVersion: policy.networking.k8s.io/v1alpha1
                        kind: AdminNetworkPolicy
                        metadata: {name: no-client}
                        spec:
                          priority: 5
                          subject: {namespaces: {matchLabels: {team: a}}}
                          ingress:
                          - name: no-client
                            action: Deny
                            from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}}]
                        """) as AdminNetworkPolicy)
                try await eventually("the admin policy enforced") {
                    (try? Self.fate(fake, from: "10.244.1.11", to: "10.244.1.10")) == .dropped
                }
                let text = policyMetrics.prometheusText()
                #expect(text.contains(#"weft_policy_policies{kind="NetworkPolicy"} 1"#))
                #expect(text.contains(#"weft_policy_policies{kind="AdminNetworkPolicy"} 1"#))
                #expect(metricValue(text, "weft_policy_local_pods") == 2)
                #expect(try #require(metricValue(text, "weft_policy_groups")) >= 1)
                #expect(metricValue(text, #"weft_policy_sync_duration_seconds_count{kind="full"}"#) == 1)
                #expect(metrics.prometheusText().contains("weft_policy_elements "), "the agent's /metrics has them")

                // A status-only change of a pod (Ready) changes nothing policies read: no sync.
                let syncs = metricValue(policyMetrics.prometheusText(), "weft_policy_syncs_total")
                var ready = try await client.get(Pod.self, name: web.name, namespace: "a")
                ready.status?.conditions = [PodCondition(type: "Ready", status: "True")]
                _ = try await client.updateStatus(ready)
                try await Task.sleep(for: .milliseconds(400))
                #expect(metricValue(policyMetrics.prometheusText(), "weft_policy_syncs_total") == syncs)

                // A failed sync: unhealthy; the retry is a full sync and enforces the change.
                fake.failNextApply(with: NFTablesError(code: .commandFailed, operation: "apply", message: "injected"))
                _ = try await client.delete(AdminNetworkPolicy.self, name: "no-client")
                try await eventually("recovered") {
                    (try? Self.fate(fake, from: "10.244.1.11", to: "10.244.1.10")) == .forwarded
                }
                let after = policyMetrics.prometheusText()
                #expect(metricValue(after, "weft_policy_sync_failures_total") == 1)
                #expect(metricValue(after, #"weft_policy_sync_duration_seconds_count{kind="full"}"#) == 2)
                #expect(policyMetrics.isHealthy)
            }
        }
    }

    /// A BaselineAdminNetworkPolicy that does not decode fails its informer's whole list: the agent goes on without
    /// that kind and enforces the others. (The API server validates specs, so the undecodable value is put in the
    /// status, which another controller owns and nobody validates.)
    @Test func anUndecodableAdminKindDoesNotStopEnforcement() async throws {
        try await withAPIServer { client in
            _ = try await client.create(
                Resources.baselineAdminNetworkPolicy,
                try JSONValue(
                    parsing: #"""
                        {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
                         "metadata": {"name": "default"},
                         "spec": {"subject": {"namespaces": {}},
                                  "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}}
                        """#))
            _ = try await client.patch(
                Resources.baselineAdminNetworkPolicy, name: "default", type: .merge,
                body: try JSONValue(parsing: #"{"status": {"conditions": true}}"#), subresource: "status")
            _ = try await client.create(
                try object("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}") as Namespace)
            _ = try await Self.run(client, "web", labels: ["app": "web"], ip: "10.244.1.10")
            _ = try await client.create(
                try object(
                    """
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: deny, namespace: a}
                    spec: {podSelector: {}}
                    """) as NetworkPolicy)
            let fake = FakeNFTables()
            let metrics = PolicyMetrics()
            let agent = PolicyAgent(
                client: client, nodeName: "node-1",
                syncer: PolicySyncer(node: PolicyNode(name: "node-1"), backend: fake), metrics: metrics,
                minimumInterval: .milliseconds(10), optionalWait: .milliseconds(300))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await agent.run() }
                defer { group.cancelAll() }
                try await eventually("the first sync") { metrics.isHealthy }
                #expect(try Self.fate(fake, from: "10.244.1.11", to: "10.244.1.10") == .dropped)
                let text = metrics.prometheusText()
                #expect(text.contains(#"weft_policy_kind_unsynced{kind="BaselineAdminNetworkPolicy"} 1"#), "\(text)")
                #expect(!text.contains(#"weft_policy_kind_unsynced{kind="AdminNetworkPolicy"}"#))
            }
        }
    }

    @Test func nodeViewFromTheNodeObjectAndLocalAddresses() {
        let node = kubeNode(
            "n", podCIDRs: ["10.244.1.0/24", "fd00:10:244:1::/64"], internalIPs: ["192.168.0.1", "fd00:192::1"])
        let view = PolicyAgent.policyNode(
            name: "n", node: node, localAddresses: [ip("10.244.1.1"), ip("192.168.0.1"), ip("fe80::1")])
        #expect(view.podCIDRs == [prefix("10.244.1.0/24"), prefix("fd00:10:244:1::/64")])
        #expect(Set(view.addresses) == [ip("10.244.1.1"), ip("192.168.0.1"), ip("fd00:192::1"), ip("fe80::1")])
        #expect(view.addresses.count == 4, "no duplicates")
        let unknown = PolicyAgent.policyNode(name: "n", node: nil, localAddresses: [ip("10.0.0.1")])
        #expect(unknown.podCIDRs.isEmpty && unknown.addresses == [ip("10.0.0.1")])
    }
}
