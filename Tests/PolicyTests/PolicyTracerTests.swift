import KubeModel
import Testing
import WeftNet

@testable import Policy

struct PolicyTracerTests {
    @Test func explainsEachDirection() throws {
        var cluster = Cluster()
        cluster.inputs.networkPolicies = [
            networkPolicy("x", "deny-egress", select: labels(["pod": "a"]), types: ["Egress"]),
            networkPolicy(
                "y", "allow-x",
                ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "x"]))])]),
        ]
        let tracer = PolicyTracer(nodes: cluster.compiledNodes())
        let denied = try tracer.trace(
            from: .pod(namespace: "x", name: "a"), to: .pod(namespace: "y", name: "b"), protocol: .tcp, port: 80)
        #expect(!denied.allowed)
        #expect(denied.egress.node == "node-1")
        #expect(denied.egress.decidedBy?.policy == "x/deny-egress")
        #expect(denied.egress.reason == "isolated by NetworkPolicy x/deny-egress and no rule allows")
        #expect(denied.ingress.node == "node-2")
        #expect(denied.ingress.decidedBy?.description == "NetworkPolicy y/allow-x ingress[0]")
        #expect(denied.ingress.allowed)

        let fromZ = try tracer.trace(
            from: .pod(namespace: "z", name: "a"), to: .pod(namespace: "y", name: "b"), protocol: .udp, port: 81)
        #expect(fromZ.egress.reason == "no policy selects the pod for egress")
        #expect(!fromZ.ingress.allowed)

        let fromNode = tracer.trace(
            from: IPAddress("10.244.2.1")!, to: Cluster.address("y/b"), protocol: .tcp, port: 80)
        #expect(fromNode.allowed)
        #expect(fromNode.ingress.reason == "from the pod's own node")

        let unknown = tracer.trace(
            from: Cluster.address("x/c"), to: IPAddress("10.244.2.200")!, protocol: nil, port: nil)
        #expect(!unknown.ingress.allowed)
        #expect(unknown.ingress.reason.contains("not a known pod"))

        let outside = tracer.trace(
            from: IPAddress("203.0.113.9")!, to: Cluster.address("x/a"), protocol: .tcp, port: 80)
        #expect(outside.allowed)
        #expect(throws: PolicyTracer.UnknownEndpoint.self) {
            try tracer.trace(
                from: .pod(namespace: "x", name: "zz"), to: .address(Cluster.address("x/a")), protocol: .tcp, port: 80)
        }
    }
}
