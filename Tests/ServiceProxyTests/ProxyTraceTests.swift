import NFTables
import NFTablesTesting
import Testing
import WeftNet

@testable import ServiceProxy

/// Virtual packets through the service proxy's real ruleset, loaded into `FakeNFTables` and walked by
/// `PacketTracer`: what each kind of service does to a new connection, without root or a kernel.
struct ProxyTraceTests {
    static let nodeAddress = IPAddress("198.18.0.10")!
    static let nodeAddress6 = IPAddress("fd00:18::10")!
    static let node = ProxyNode(name: "node-1", nodePortAddresses: [nodeAddress, nodeAddress6])
    static let ruleset = ProxyRuleset(clusterCIDRs: [IPPrefix("10.244.0.0/16")!, IPPrefix("fd00:10:244::/56")!])

    /// A pod on this node, and the pods of the service below (`@local`: on this node).
    static let client = "10.244.0.7"

    static func plan(
        _ name: String, clusterIP: String, port: Int = 80, protocol: TransportProtocol = .tcp, endpoints: [String],
        nodePort: Int? = nil
    ) -> ServicePortPlan {
        let ip = IPAddress(clusterIP)!
        var plan = ServicePortPlan(
            key: ServicePortKey(namespace: "n", name: name, port: "", protocol: `protocol`, family: ip.family),
            clusterIP: ip, port: port)
        plan.endpoints = endpoints.map {
            let parts = $0.split(separator: "@")
            return ServiceEndpoint(address: IPAddress(String(parts[0]))!, port: 8080, isLocal: parts.count > 1)
        }
        .sorted()
        plan.nodePort = nodePort
        return plan
    }

    /// The ruleset for `plans` loaded into a fake, and a tracer on it for this node.
    static func tracer(_ plans: [ServicePortPlan], random: PacketTracer.RandomSource = .fixed(0)) throws
        -> PacketTracer
    {
        let nft = FakeNFTables()
        try nft.apply(ruleset.fullSync(plans, node: node))
        let tracer = PacketTracer(nft: nft, localAddresses: [nodeAddress, nodeAddress6], random: random)
        try tracer.validate()
        return tracer
    }

    static let web = plan(
        "web", clusterIP: "10.96.0.10", endpoints: ["10.244.0.5@local", "10.244.1.5", "10.244.2.5"], nodePort: 30080)

    static func tcp(_ from: String, port sourcePort: Int = 40000, to: String, _ port: Int) -> TracedPacket {
        TracedPacket(.tcp, from: from, to: to, port: port, sourcePort: sourcePort)
    }

    // MARK: ClusterIP

    @Test func clusterIPFromAPodKeepsTheSource() throws {
        let tracer = try Self.tracer([Self.web])
        var seen = Set<IPAddress>()
        // Three endpoints, three buckets (`mod-3`): each bucket goes to its endpoint.
        for bucket in UInt32(0)..<3 {
            tracer.random = .fixed(bucket)
            let trace = try tracer.trace(Self.tcp(Self.client, port: 40000 + Int(bucket), to: "10.96.0.10", 80))
            #expect(trace.fate == .forwarded, "\(trace)")
            let dnat = try #require(trace.dnat, "\(trace)")
            #expect(dnat.port == 8080)
            seen.insert(dnat.address)
            #expect(!trace.wasMasqueraded, "pod to ClusterIP keeps the pod's source: \(trace)")
            #expect(trace.packet.source == IPAddress(Self.client)!)
            #expect(trace.marksSet.isEmpty)
            #expect(trace.randomNumbers == [bucket])
        }
        #expect(seen == Set(Self.web.endpoints.map(\.address)))
    }

    @Test func bucketsMapToEndpointsAsTheMapSays() throws {
        let tracer = try Self.tracer([Self.web])
        tracer.random = .fixed(1)
        let trace = try tracer.trace(Self.tcp(Self.client, to: "10.96.0.10", 80))
        // Bucket i → endpoint i mod 3 (BucketTable), endpoints sorted.
        #expect(trace.dnat == NATBinding(address: IPAddress("10.244.1.5")!, port: 8080))
        #expect(
            trace.chains == [
                "filter-prerouting", "firewall-check", "nat-prerouting", "services", "mod-3", "filter-forward",
                "endpoint-check", "nat-postrouting",
            ])
        #expect(trace.matchedRules.contains { $0.contains("numgen random mod 3 map @backends4") })
    }

    @Test func clusterIPFromOutsideThePodNetworkIsMasqueraded() throws {
        let tracer = try Self.tracer([Self.web])
        let trace = try tracer.trace(Self.tcp("172.16.5.5", to: "10.96.0.10", 80))
        #expect(trace.fate == .forwarded)
        #expect(trace.dnat != nil)
        #expect(trace.masquerade == ["fully-random"], "\(trace)")
        #expect(trace.packet.source == Self.nodeAddress)
        // The mark asks for masquerade and is cleared as it is done.
        #expect(trace.marksSet == [0x4000, 0])
    }

    @Test func clusterIPFromTheNodeItselfIsMasqueraded() throws {
        let tracer = try Self.tracer([Self.web])
        let trace = try tracer.trace(Self.tcp("198.18.0.10", to: "10.96.0.10", 80), path: .outgoing)
        #expect(trace.fate == .sent)
        #expect(trace.chains.contains("nat-output"))
        #expect(trace.dnat != nil && trace.wasMasqueraded, "\(trace)")
    }

    @Test func followUpPacketsUseConntrack() throws {
        let tracer = try Self.tracer([Self.web], random: .fixed(2))
        let first = try tracer.trace(Self.tcp(Self.client, to: "10.96.0.10", 80))
        tracer.random = .fixed(0)
        let second = try tracer.trace(Self.tcp(Self.client, to: "10.96.0.10", 80))
        #expect(first.isNewConnection && !second.isNewConnection)
        #expect(second.dnat == first.dnat, "a connection keeps its endpoint")
        #expect(!second.chains.contains("services"), "nat chains run only for the first packet")
        #expect(!second.chains.contains("endpoint-check"), "ct state new rules do not match")
        #expect(second.randomNumbers.isEmpty)
    }

    @Test func ipv6ClusterIP() throws {
        let plan = Self.plan("v6", clusterIP: "fd00:10:96::20", endpoints: ["fd00:10:244::5", "fd00:10:244:1::5"])
        let tracer = try Self.tracer([plan, Self.web])
        let trace = try tracer.trace(TracedPacket(.tcp, from: "fd00:10:244::7", to: "fd00:10:96::20", port: 80))
        #expect(trace.fate == .forwarded)
        #expect(trace.dnat?.address.isIPv6 == true && trace.dnat?.port == 8080)
        #expect(!trace.wasMasqueraded)
        let outside = try tracer.trace(TracedPacket(.tcp, from: "fd00:99::1", to: "fd00:10:96::20", port: 80))
        #expect(outside.wasMasqueraded && outside.packet.source == Self.nodeAddress6)
    }

    // MARK: NodePort

    @Test func nodePortFromOutsideIsDNATedAndMasqueraded() throws {
        let tracer = try Self.tracer([Self.web], random: .fixed(1))
        let trace = try tracer.trace(Self.tcp("203.0.113.9", to: "198.18.0.10", 30080))
        #expect(trace.fate == .forwarded, "after DNAT the node forwards to the pod: \(trace)")
        #expect(trace.dnat == NATBinding(address: IPAddress("10.244.1.5")!, port: 8080))
        #expect(trace.wasMasqueraded && trace.packet.source == Self.nodeAddress)
        // A port nothing listens on is left alone (delivered to the node, where no socket takes it).
        let other = try tracer.trace(Self.tcp("203.0.113.9", to: "198.18.0.10", 30081))
        #expect(other.fate == .deliveredLocally && other.dnat == nil && !other.wasMasqueraded)
    }

    @Test func externalTrafficPolicyLocalUsesOnlyLocalEndpointsAndKeepsTheSource() throws {
        var local = Self.web
        local.externalPolicyLocal = true
        let tracer = try Self.tracer([local])
        // One local endpoint: `mod-1`, whatever the random number.
        for bucket in UInt32(0)..<4 {
            tracer.random = .fixed(bucket)
            let trace = try tracer.trace(
                Self.tcp("203.0.113.9", port: 50000 + Int(bucket), to: "198.18.0.10", 30080))
            #expect(trace.fate == .forwarded)
            #expect(trace.dnat == NATBinding(address: IPAddress("10.244.0.5")!, port: 8080), "\(trace)")
            #expect(!trace.wasMasqueraded && trace.packet.source == IPAddress("203.0.113.9")!)
        }
        // The cluster IP of the same service still spreads over every endpoint.
        tracer.random = .fixed(1)
        let cluster = try tracer.trace(Self.tcp(Self.client, to: "10.96.0.10", 80))
        #expect(cluster.dnat?.address == IPAddress("10.244.1.5")!)
    }

    @Test func externalTrafficPolicyLocalDropsOnANodeWithoutALocalEndpoint() throws {
        var remote = Self.plan(
            "web", clusterIP: "10.96.0.10", endpoints: ["10.244.1.5", "10.244.2.5"], nodePort: 30080)
        remote.externalPolicyLocal = true
        let tracer = try Self.tracer([remote])
        let trace = try tracer.trace(Self.tcp("203.0.113.9", to: "198.18.0.10", 30080))
        #expect(trace.fate == .dropped, "\(trace)")
        #expect(trace.dnat == nil)
        #expect(trace.decidingRule == "ip daddr . meta l4proto . th dport @drop-frontends4 drop")
        #expect(trace.chains.contains("filter-input"))
    }

    // MARK: Rejects

    @Test func serviceWithoutEndpointsRejects() throws {
        let empty = Self.plan("empty", clusterIP: "10.96.0.21", endpoints: [], nodePort: 30090)
        let tracer = try Self.tracer([empty, Self.web])
        let trace = try tracer.trace(Self.tcp(Self.client, to: "10.96.0.21", 80))
        #expect(trace.fate == .rejected("icmpx port-unreachable"), "\(trace)")
        #expect(trace.decidingRule == "ip daddr . meta l4proto . th dport @no-endpoints4 reject")
        #expect(trace.dnat == nil)
        let nodePort = try tracer.trace(Self.tcp("203.0.113.9", to: "198.18.0.10", 30090))
        #expect(nodePort.fate == .rejected("icmpx port-unreachable"))
        #expect(tracer.connectionCount == 0, "a rejected packet leaves no connection")
    }

    @Test func undefinedPortOnAClusterIPRejects() throws {
        let tracer = try Self.tracer([Self.web])
        let trace = try tracer.trace(Self.tcp(Self.client, to: "10.96.0.10", 81))
        #expect(trace.fate == .rejected("icmpx port-unreachable"), "\(trace)")
        #expect(trace.decidingRule == "ip daddr @cluster-ips4 reject")
        // The same port over another protocol is not defined either.
        let udp = try tracer.trace(TracedPacket(.udp, from: Self.client, to: "10.96.0.10", port: 80))
        #expect(udp.fate == .rejected("icmpx port-unreachable"))
    }

    // MARK: Session affinity

    @Test func sessionAffinitySticksUntilItsTimeout() throws {
        var sticky = Self.web
        sticky.affinityTimeoutSeconds = 30
        let tracer = try Self.tracer([sticky], random: .fixed(0))
        let first = try tracer.trace(Self.tcp(Self.client, port: 41000, to: "10.96.0.10", 80))
        let endpoint = try #require(first.dnat, "\(first)")
        #expect(endpoint.address == IPAddress("10.244.0.5")!)
        #expect(first.setUpdates.map(\.key) == [Self.client])
        #expect(first.setUpdates.first?.expires == 30)

        // A new connection from the same client, 20 s later, whatever the random pick: the same endpoint.
        tracer.advance(seconds: 20)
        tracer.random = .fixed(2)
        let second = try tracer.trace(Self.tcp(Self.client, port: 41001, to: "10.96.0.10", 80))
        #expect(second.isNewConnection && second.dnat == endpoint, "\(second)")
        #expect(second.randomNumbers.isEmpty, "found in the endpoint's set, no random pick")
        // Another client is not bound by it.
        let other = try tracer.trace(Self.tcp("10.244.3.3", to: "10.96.0.10", 80))
        #expect(other.dnat?.address == IPAddress("10.244.2.5")!)

        // Each hit refreshes the timeout (`update`): 25 s after the second connection it still sticks …
        tracer.advance(seconds: 25)
        let third = try tracer.trace(Self.tcp(Self.client, port: 41002, to: "10.96.0.10", 80))
        #expect(third.dnat == endpoint)
        // … and once 30 s pass without a connection it is forgotten and the pick is random again.
        tracer.advance(seconds: 31)
        #expect(tracer.dynamicElements(table: ProxyRuleset.table, set: first.setUpdates[0].set).isEmpty)
        let fourth = try tracer.trace(Self.tcp(Self.client, port: 41003, to: "10.96.0.10", 80))
        #expect(fourth.dnat?.address == IPAddress("10.244.2.5")!, "\(fourth)")
    }

    // MARK: Load balancers

    @Test func loadBalancerSourceRangesDropOtherSources() throws {
        var lb = Self.web
        lb.loadBalancerIPs = [IPAddress("192.0.2.1")!]
        lb.loadBalancerSourceRanges = [IPPrefix("203.0.113.0/24")!]
        let tracer = try Self.tracer([lb])
        let outside = try tracer.trace(Self.tcp("198.51.100.7", to: "192.0.2.1", 80))
        #expect(outside.fate == .dropped, "\(outside)")
        #expect(outside.chains.first == "filter-prerouting" && outside.dnat == nil)
        #expect(outside.decidingRule?.contains("!= @firewall-allow4 drop") == true)

        let allowed = try tracer.trace(Self.tcp("203.0.113.9", to: "192.0.2.1", 80))
        #expect(allowed.fate == .forwarded)
        #expect(allowed.dnat != nil && allowed.wasMasqueraded)
        // The cluster IP of the same service is not behind the firewall.
        let cluster = try tracer.trace(Self.tcp("198.51.100.7", to: "10.96.0.10", 80))
        #expect(cluster.fate == .forwarded)
    }

    // MARK: Hairpin

    @Test func hairpinIsMasqueraded() throws {
        let tracer = try Self.tracer([Self.web], random: .fixed(0))
        // 10.244.0.5 reaches its own service and bucket 0 sends it to itself.
        let trace = try tracer.trace(Self.tcp("10.244.0.5", to: "10.96.0.10", 80))
        #expect(trace.dnat?.address == IPAddress("10.244.0.5")!)
        #expect(trace.wasMasqueraded && trace.masquerade == [], "\(trace)")
        #expect(trace.matchedRules.contains("ct status dnat ip saddr . ip daddr @hairpin4 masquerade"))
        #expect(trace.packet.source != trace.packet.destination)
        // Sent to another endpoint, the same pod keeps its source.
        tracer.random = .fixed(1)
        let away = try tracer.trace(Self.tcp("10.244.0.5", port: 40001, to: "10.96.0.10", 80))
        #expect(away.dnat?.address == IPAddress("10.244.1.5")! && !away.wasMasqueraded)
    }

    // MARK: Through the syncer

    @Test func changesAfterASyncAreSeen() throws {
        let nft = FakeNFTables()
        try nft.apply(Self.ruleset.fullSync([Self.web], node: Self.node))
        let tracer = PacketTracer(nft: nft, localAddresses: [Self.nodeAddress], random: .fixed(0))
        #expect(try tracer.trace(Self.tcp(Self.client, to: "10.96.0.10", 80)).fate == .forwarded)
        let empty = Self.plan("web", clusterIP: "10.96.0.10", endpoints: [], nodePort: 30080)
        try nft.apply(Self.ruleset.fullSync([empty], node: Self.node))
        tracer.forgetConnections()
        let trace = try tracer.trace(Self.tcp(Self.client, to: "10.96.0.10", 80))
        #expect(trace.fate == .rejected("icmpx port-unreachable"))
    }
}
