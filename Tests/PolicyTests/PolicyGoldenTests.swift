import KubeModel
import NFTables
import NFTablesTesting
import Testing
import WeftNet

@testable import Policy

struct PolicyGoldenTests {
    static let node = PolicyNode(
        name: "node-1", addresses: [IPAddress("192.168.50.1")!, IPAddress("10.244.1.1")!],
        podCIDRs: [IPPrefix("10.244.1.0/24")!])

    static func pod(
        _ name: String, _ ip: String, node: String = "node-1", labels: [String: String], ports: [ContainerPort] = []
    )
        -> Pod
    {
        var pod = Pod(
            metadata: ObjectMeta(name: name, namespace: "shop", labels: labels),
            spec: PodSpec(containers: [Container(name: "c", ports: ports)], nodeName: node))
        pod.status = PodStatus()
        pod.status?.podIPs = [PodIP(ip: ip)]
        return pod
    }

    static var inputs: PolicyInputs {
        PolicyInputs(
            networkPolicies: [
                networkPolicy(
                    "shop", "web", select: labels(["app": "web"]),
                    ingress: [
                        NetworkPolicyIngressRule(
                            from: [NetworkPolicyPeer(podSelector: labels(["app": "client"]))],
                            ports: [NetworkPolicyPort(protocol: .tcp, port: "http")]),
                        NetworkPolicyIngressRule(from: [
                            NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.0.0.0/8", except: ["10.244.0.0/16"]))
                        ]),
                    ])
            ],
            pods: [
                pod(
                    "web-1", "10.244.1.10", labels: ["app": "web"],
                    ports: [ContainerPort(name: "http", containerPort: 8080)]),
                pod(
                    "web-2", "10.244.1.11", labels: ["app": "web"],
                    ports: [ContainerPort(name: "http", containerPort: 8080)]),
                pod("client", "10.244.2.20", node: "node-2", labels: ["app": "client"]),
            ],
            namespaces: [Namespace(metadata: ObjectMeta(name: "shop"))])
    }

    /// Two web pods behind one policy share one chain; the named port resolves on them (8080), the remote
    /// client is one element, and the ipBlock's except leaves two ranges.
    @Test func goldenRuleset() throws {
        let compiled = PolicyCompiler(node: Self.node).compile(Self.inputs)
        #expect(compiled.skipped.isEmpty)
        let nft = FakeNFTables()
        try nft.apply(PolicyRuleset().fullSync(compiled))
        let expected = """
            add table inet weft-policy { comment "owned by weft agent (network policy)" ; }
            add chain inet weft-policy egress
            add chain inet weft-policy forward { type filter hook forward priority filter ; policy accept ; }
            add chain inet weft-policy in-b4b3eb03fb2e { comment "ingress: np shop/web" ; }
            add chain inet weft-policy ingress
            add chain inet weft-policy input { type filter hook input priority filter ; policy accept ; }
            add map inet weft-policy egress-pods4 { typeof ip saddr : verdict ; }
            add map inet weft-policy egress-pods6 { typeof ip6 saddr : verdict ; }
            add set inet weft-policy in-b4b3eb03fb2e-np-any4 { typeof ip saddr ; flags interval ; }
            add set inet weft-policy in-b4b3eb03fb2e-np-any6 { typeof ip6 saddr ; flags interval ; }
            add set inet weft-policy in-b4b3eb03fb2e-np-ports4 { typeof ip saddr . meta l4proto . th dport ; flags interval ; }
            add set inet weft-policy in-b4b3eb03fb2e-np-ports6 { typeof ip6 saddr . meta l4proto . th dport ; flags interval ; }
            add map inet weft-policy ingress-pods4 { typeof ip daddr : verdict ; }
            add map inet weft-policy ingress-pods6 { typeof ip6 daddr : verdict ; }
            add set inet weft-policy local-pods4 { typeof ip saddr ; }
            add set inet weft-policy local-pods6 { typeof ip6 saddr ; }
            add set inet weft-policy node-addresses4 { typeof ip saddr ; }
            add set inet weft-policy node-addresses6 { typeof ip6 saddr ; }
            add rule inet weft-policy egress ip saddr @node-addresses4 return
            add rule inet weft-policy egress ip6 saddr @node-addresses6 return
            add rule inet weft-policy egress ip saddr vmap @egress-pods4
            add rule inet weft-policy egress ip6 saddr vmap @egress-pods6
            add rule inet weft-policy egress ip saddr { 10.244.1.0/24 } ip saddr != @local-pods4 counter log prefix "weft-policy DROP egress unknown-pod " group 1 drop
            add rule inet weft-policy forward ct state established,related accept
            add rule inet weft-policy forward jump egress
            add rule inet weft-policy forward jump ingress
            add rule inet weft-policy in-b4b3eb03fb2e ip saddr @in-b4b3eb03fb2e-np-any4 return
            add rule inet weft-policy in-b4b3eb03fb2e ip saddr . meta l4proto . th dport @in-b4b3eb03fb2e-np-ports4 return
            add rule inet weft-policy in-b4b3eb03fb2e ip6 saddr @in-b4b3eb03fb2e-np-any6 return
            add rule inet weft-policy in-b4b3eb03fb2e ip6 saddr . meta l4proto . th dport @in-b4b3eb03fb2e-np-ports6 return
            add rule inet weft-policy in-b4b3eb03fb2e counter log prefix "weft-policy DROP ingress np:shop/web " group 1 drop
            add rule inet weft-policy ingress ip saddr @node-addresses4 return
            add rule inet weft-policy ingress ip6 saddr @node-addresses6 return
            add rule inet weft-policy ingress ip daddr vmap @ingress-pods4
            add rule inet weft-policy ingress ip6 daddr vmap @ingress-pods6
            add rule inet weft-policy ingress ip daddr { 10.244.1.0/24 } ip daddr != @local-pods4 counter log prefix "weft-policy DROP ingress unknown-pod " group 1 drop
            add rule inet weft-policy input ct state established,related accept
            add rule inet weft-policy input iifname "lo" accept
            add rule inet weft-policy input jump egress
            add element inet weft-policy in-b4b3eb03fb2e-np-any4 { 10.0.0.0-10.243.255.255 }
            add element inet weft-policy in-b4b3eb03fb2e-np-any4 { 10.245.0.0-10.255.255.255 }
            add element inet weft-policy in-b4b3eb03fb2e-np-ports4 { 10.244.2.20 . tcp . 8080 }
            add element inet weft-policy ingress-pods4 { 10.244.1.10 : jump in-b4b3eb03fb2e }
            add element inet weft-policy ingress-pods4 { 10.244.1.11 : jump in-b4b3eb03fb2e }
            add element inet weft-policy local-pods4 { 10.244.1.10 }
            add element inet weft-policy local-pods4 { 10.244.1.11 }
            add element inet weft-policy node-addresses4 { 10.244.1.1 }
            add element inet weft-policy node-addresses4 { 192.168.50.1 }

            """
        #expect(nft.dump() == expected)
    }
}
