import Foundation
import Glibc
import NFTables
import Netlink
import Testing
import WeftNet

@testable import ServiceProxy

/// The proxy's nftables state: a fixed chain graph whose size does not depend on the services, and elements
/// that carry every service, frontend and bucket.
struct ProxyRulesetTests {
    static let node = ProxyNode(name: "node-1", nodePortAddresses: [IPAddress("198.18.0.10")!])
    static let ruleset = ProxyRuleset(clusterCIDRs: [IPPrefix("10.244.0.0/16")!, IPPrefix("fd00:10:244::/56")!])

    static func plan(
        _ name: String, clusterIP: String, port: Int = 80, endpoints: [String], nodePort: Int? = nil,
        etpLocal: Bool = false
    ) -> ServicePortPlan {
        let ip = IPAddress(clusterIP)!
        var plan = ServicePortPlan(
            key: ServicePortKey(namespace: "n", name: name, port: "", protocol: .tcp, family: ip.family),
            clusterIP: ip, port: port)
        plan.endpoints = endpoints.map {
            let parts = $0.split(separator: "@")
            return ServiceEndpoint(address: IPAddress(String(parts[0]))!, port: 8080, isLocal: parts.count > 1)
        }
        plan.nodePort = nodePort
        plan.externalPolicyLocal = etpLocal && nodePort != nil
        return plan
    }

    @Test func skeletonIsTheSameForAnyNumberOfServices() {
        let text = Self.ruleset.skeleton().render()
        #expect(text.contains("add table inet weft-proxy"))
        #expect(
            text.contains("add rule inet weft-proxy services ip daddr . meta l4proto . th dport vmap @dispatch4"))
        #expect(
            text.contains(
                "add rule inet weft-proxy mod-5 dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 5 map @backends4"
            ))
        #expect(
            text.contains(
                "add map inet weft-proxy backends6 { typeof ip6 daddr . meta l4proto . th dport . numgen random mod 16 : ip6 daddr . th dport ; }"
            ))
        #expect(text.contains("ip saddr != { 10.244.0.0/16 } meta mark set meta mark | 0x00004000"))
        #expect(text.contains("add rule inet weft-proxy endpoint-check ip daddr @cluster-ips4 reject"))
        let chains = text.split(separator: "\n").filter { $0.hasPrefix("add chain") }
        #expect(chains.count == 11 + BucketTable.widths.count)
    }

    @Test func elementsDispatchEveryBucket() {
        let plans = [
            Self.plan(
                "web", clusterIP: "10.96.0.20", endpoints: ["10.244.0.5@local", "10.244.1.5", "10.244.2.5"],
                nodePort: 30080),
            Self.plan("empty", clusterIP: "10.96.0.21", endpoints: []),
        ]
        let elements = Self.ruleset.elements(plans, node: Self.node)
        func keys(_ set: String) -> [String] { elements.filter { $0.set == set }.map(\.key) }
        #expect(keys("dispatch4") == ["10.96.0.20 . tcp . 80", "198.18.0.10 . tcp . 30080"])
        #expect(elements.filter { $0.set == "dispatch4" }.allSatisfy { $0.value == "goto mod-3" })
        #expect(keys("no-endpoints4") == ["10.96.0.21 . tcp . 80"])
        #expect(keys("masq-frontends4") == ["198.18.0.10 . tcp . 30080"])
        #expect(keys("cluster-ips4") == ["10.96.0.20", "10.96.0.21"])
        #expect(keys("hairpin4").count == 3)
        let backends = elements.filter { $0.set == "backends4" && $0.key.hasPrefix("10.96.0.20 ") }
        #expect(
            backends.map { "\($0.key) : \($0.value ?? "")" } == [
                "10.96.0.20 . tcp . 80 . 0 : 10.244.0.5 . 8080", "10.96.0.20 . tcp . 80 . 1 : 10.244.1.5 . 8080",
                "10.96.0.20 . tcp . 80 . 2 : 10.244.2.5 . 8080",
            ])
    }

    @Test func externalTrafficPolicyLocal() {
        let local = Self.plan(
            "web", clusterIP: "10.96.0.20", endpoints: ["10.244.0.5@local", "10.244.1.5"], nodePort: 30080,
            etpLocal: true)
        let elements = Self.ruleset.elements([local], node: Self.node)
        let nodePortBackends = Set(
            elements.filter { $0.set == "backends4" && $0.key.hasPrefix("198.18.0.10 ") }.compactMap(\.value))
        #expect(nodePortBackends == ["10.244.0.5 . 8080"], "only the local endpoint, without masquerade")
        #expect(!elements.contains { $0.set == "masq-frontends4" })

        let remote = Self.plan(
            "web", clusterIP: "10.96.0.20", endpoints: ["10.244.1.5"], nodePort: 30080, etpLocal: true)
        let dropped = Self.ruleset.elements([remote], node: Self.node)
        #expect(dropped.filter { $0.set == "drop-frontends4" }.map(\.key) == ["198.18.0.10 . tcp . 30080"])
    }

    /// The skeleton and a service's elements load into the kernel with the real nft (in a throwaway namespace).
    @Test(.enabled(if: getuid() == 0)) func kernelAcceptsTheRuleset() throws {
        NetNS.removeAbandoned(prefix: "weft-test-proxy")
        let namespace = NetNS.ownedName(prefix: "weft-test-proxy", String(UInt32.random(in: 0...UInt32.max), radix: 16))
        _ = try ProcessRunner.run("ip", arguments: ["netns", "add", namespace])
        defer { _ = try? ProcessRunner.run("ip", arguments: ["netns", "del", namespace]) }
        let plans = [
            Self.plan("web", clusterIP: "10.96.0.20", endpoints: ["10.244.0.5@local", "10.244.1.5"], nodePort: 30080),
            Self.plan("v6", clusterIP: "fd00:10:96::20", endpoints: ["fd00:10:244::5"]),
            Self.plan("none", clusterIP: "10.96.0.21", endpoints: []),
            Self.stickyFirewalled(),
        ]
        let full = Self.ruleset.fullSync(plans, node: Self.node).render()
        for attempt in ["first", "over an existing table"] {
            let load = try ProcessRunner.run(
                "ip", arguments: ["netns", "exec", namespace, "nft", "-f", "-"], stdin: Array(full.utf8))
            #expect(load.succeeded, "full sync, \(attempt): \(load.stderrString)")
        }
        // A later sync changes elements of the existing maps and sets.
        var change = Transaction()
        change.add(
            Element(
                family: .inet, table: ProxyRuleset.table, set: "backends4", key: "10.96.0.99 . tcp . 80 . 3",
                value: "10.244.3.3 . 8080"))
        change.delete(
            Element(family: .inet, table: ProxyRuleset.table, set: "no-endpoints4", key: "10.96.0.21 . tcp . 80"))
        let changed = try ProcessRunner.run(
            "ip", arguments: ["netns", "exec", namespace, "nft", "-f", "-"], stdin: Array(change.render().utf8))
        #expect(changed.succeeded, "element changes: \(changed.stderrString)")
        let listed = try ProcessRunner.run(
            "ip", arguments: ["netns", "exec", namespace, "nft", "list", "map", "inet", "weft-proxy", "backends6"])
        #expect(
            listed.stdoutString.contains("fd00:10:96::20 . tcp . 80 . 0 : fd00:10:244::5 . 8080"),
            "\(listed.stdoutString)")
    }

    /// An IPv6 load-balancer service with session affinity and source ranges.
    static func stickyFirewalled() -> ServicePortPlan {
        var plan = Self.plan("sticky", clusterIP: "fd00:10:96::30", endpoints: ["fd00:10:244::5", "fd00:10:244::6"])
        plan.affinityTimeoutSeconds = 30
        plan.loadBalancerIPs = [IPAddress("fd00:5::30")!]
        plan.loadBalancerSourceRanges = [IPPrefix("fd00:77::/64")!]
        return plan
    }

    @Test func sessionAffinityAndSourceRangeObjects() {
        let objects = Self.ruleset.objects([Self.stickyFirewalled()], node: Self.node)
        let base = "affinity-" + ProxyRuleset.hash("n/sticky/TCP/v6 cluster 30")
        let endpoint = base + "-" + ProxyRuleset.hash("[fd00:10:244::5]:8080").prefix(8)
        let other = base + "-" + ProxyRuleset.hash("[fd00:10:244::6]:8080").prefix(8)
        #expect(objects.chains.map(\.chain.name) == [base, endpoint, other])
        #expect(
            objects.chains[0].rules == [
                "ip6 saddr @\(endpoint) goto \(endpoint)", "ip6 saddr @\(other) goto \(other)",
                "numgen random mod 2 vmap { 0 : goto \(endpoint), 1 : goto \(other) }",
            ])
        #expect(
            objects.chains[1].rules == [
                "update @\(endpoint) { ip6 saddr }", "meta l4proto tcp dnat ip6 to [fd00:10:244::5]:8080",
            ])
        #expect(
            objects.sets.map(\.timeout) == ["30s", "30s"]
                && objects.sets.allSatisfy { $0.flags == [.dynamic, .timeout] })
        func keys(_ set: String) -> [String] { objects.elements.filter { $0.set == set }.map(\.key) }
        #expect(keys("dispatch6") == ["fd00:10:96::30 . tcp . 80", "fd00:5::30 . tcp . 80"])
        #expect(objects.elements.filter { $0.set == "dispatch6" }.allSatisfy { $0.value == "goto \(base)" })
        #expect(keys("firewall-frontends6") == ["fd00:5::30 . tcp . 80"])
        #expect(keys("firewall-allow6") == ["fd00:5::30 . tcp . 80 . fd00:77::/64"])
        #expect(keys("backends6").isEmpty, "affinity frontends dispatch through their own chain")
    }
}
