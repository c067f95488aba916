import NFTables
import NFTablesTesting
import Testing
import WeftNet

/// The tracer's evaluator on small hand-written rulesets: hook order, jumps, matches, NAT, conntrack, dynamic
/// sets, and loud failure on syntax it does not know.
struct PacketTracerTests {
    static let t = "trace"

    /// A table `inet trace` with `chains` (name → (hook, type, priority, policy) or nil for a regular chain),
    /// `sets` and `rules` (chain, body).
    static func load(
        chains: [(String, Hook?, ChainType?, String?, String?)], sets: [NFTSet] = [], elements: [Element] = [],
        rules: [(String, String)], family: Family = .inet, table: String = t, into nft: FakeNFTables = FakeNFTables()
    ) throws -> FakeNFTables {
        var tx = Transaction()
        tx.add(Table(family: family, name: table))
        for (name, hook, type, priority, policy) in chains {
            tx.add(
                Chain(
                    family: family, table: table, name: name, type: type, hook: hook, priority: priority, policy: policy
                ))
        }
        for set in sets { tx.add(set) }
        for element in elements { tx.add(element) }
        for (chain, body) in rules { tx.add(Rule(family: family, table: table, chain: chain, body: body)) }
        try nft.apply(tx)
        return nft
    }

    static func set(
        _ name: String, typeOf: String, mapType: String? = nil, flags: Set<SetFlag> = [], timeout: String? = nil
    )
        -> NFTSet
    {
        NFTSet(family: .inet, table: t, name: name, typeOf: typeOf, mapType: mapType, flags: flags, timeout: timeout)
    }

    static func element(_ set: String, _ key: String, _ value: String? = nil) -> Element {
        Element(family: .inet, table: t, set: set, key: key, value: value)
    }

    @Test func baseChainsRunInPriorityOrderAcrossTables() throws {
        let nft = try Self.load(
            chains: [
                ("late", .prerouting, .filter, "filter", "accept"),
                ("early", .prerouting, .filter, "dstnat - 10", "accept"),
                ("raw", .prerouting, .filter, "raw", "accept"),
            ],
            rules: [("late", "counter"), ("early", "counter")])
        _ = try Self.load(
            chains: [("between", .prerouting, .filter, "-50", "accept")], rules: [], family: .ip, table: "other",
            into: nft)
        _ = try Self.load(
            chains: [("v6only", .prerouting, .filter, "-60", "accept")], rules: [], family: .ip6, table: "six",
            into: nft)
        let tracer = PacketTracer(nft: nft)
        let trace = try tracer.trace(TracedPacket(.tcp, from: "10.0.0.1", to: "10.0.0.2", port: 80))
        #expect(trace.chains == ["raw", "early", "between", "late"])
        #expect(trace.fate == .forwarded)
        #expect(trace.steps.contains { $0.kind == .routing })
    }

    @Test func jumpReturnsGotoDoesNotAndPolicyDecides() throws {
        let nft = try Self.load(
            chains: [
                ("input", .input, .filter, "0", "drop"), ("a", nil, nil, nil, nil), ("b", nil, nil, nil, nil),
                ("c", nil, nil, nil, nil),
            ],
            rules: [
                ("input", "jump a"),
                ("input", "tcp dport 22 accept"),
                ("a", "goto b"),
                ("a", "accept"),  // never reached: goto does not come back to a
                ("b", "tcp dport 23 return"),
                ("b", "jump c"),
                ("c", "tcp dport 24 drop"),
            ])
        let tracer = PacketTracer(nft: nft, localAddresses: [IPAddress("10.0.0.2")!])
        func fate(_ port: Int) throws -> PacketTrace {
            try tracer.trace(TracedPacket(.tcp, from: "10.0.0.1", to: "10.0.0.2", port: port))
        }
        let ssh = try fate(22)
        #expect(ssh.fate == .deliveredLocally)
        #expect(ssh.chains == ["input", "a", "b", "c"])
        #expect(try fate(23).fate == .dropped, "returned from b to input, then the drop policy")
        let dropped = try fate(24)
        #expect(dropped.fate == .dropped)
        #expect(dropped.decidingRule == "tcp dport 24 drop")
        #expect(try fate(25).decidingRule == nil, "the policy dropped it")
    }

    @Test func setsConcatenationsIntervalsAndAnonymousSets() throws {
        let nft = try Self.load(
            chains: [("fwd", .forward, .filter, "filter", "accept")],
            sets: [
                Self.set("allow", typeOf: "ip daddr . meta l4proto . th dport . ip saddr", flags: [.interval]),
                Self.set("ports", typeOf: "th dport", flags: [.interval]),
            ],
            elements: [
                Self.element("allow", "10.0.0.2 . tcp . 80 . 10.0.0.0/8"),
                Self.element("ports", "1000-2000"),
            ],
            rules: [
                ("fwd", "ip daddr . meta l4proto . th dport . ip saddr @allow accept"),
                ("fwd", "th dport @ports accept"),
                ("fwd", "ip saddr != { 192.168.0.0/16, 172.16.0.1 } reject with tcp reset"),
                ("fwd", "meta l4proto { udp, sctp } drop"),
                ("fwd", "ip6 daddr fd00::1 drop"),
            ])
        let tracer = PacketTracer(nft: nft)
        func trace(_ from: String, _ to: String, _ port: Int, _ proto: TracedProtocol = .tcp) throws -> PacketTrace {
            try tracer.trace(TracedPacket(proto, from: from, to: to, port: port))
        }
        #expect(try trace("10.9.9.9", "10.0.0.2", 80).matchedRules.first?.hasSuffix("@allow accept") == true)
        #expect(try trace("11.9.9.9", "10.0.0.2", 80).fate == .rejected("tcp reset"), "outside 10.0.0.0/8")
        #expect(try trace("11.9.9.9", "10.0.0.2", 1500).fate == .forwarded, "in the port range")
        #expect(try trace("192.168.3.3", "10.0.0.2", 80).fate == .forwarded, "in the anonymous set")
        #expect(try trace("172.16.0.1", "10.0.0.2", 80).fate == .forwarded)
        #expect(try trace("192.168.3.3", "10.0.0.2", 53, .udp).fate == .dropped)
        // ip6 expressions do not match an IPv4 packet (and ip ones not an IPv6 packet).
        let v6 = try tracer.trace(TracedPacket(.tcp, from: "fd00::2", to: "fd00::1", port: 80))
        #expect(v6.fate == .dropped && v6.decidingRule == "ip6 daddr fd00::1 drop")
    }

    @Test func natMarksAndConntrack() throws {
        let nft = try Self.load(
            chains: [
                ("pre", .prerouting, .nat, "dstnat", "accept"), ("pre2", .prerouting, .nat, "dstnat + 1", "accept"),
                ("post", .postrouting, .nat, "srcnat", "accept"), ("fwd", .forward, .filter, "filter", "accept"),
            ],
            rules: [
                ("pre", "ip daddr 10.96.0.1 tcp dport 80 meta mark set meta mark | 0x4000"),
                ("pre", "meta l4proto tcp ip daddr 10.96.0.1 dnat ip to 10.244.0.9:8080"),
                ("pre2", "dnat ip to 10.244.0.99"),  // the binding is set up: never runs
                ("fwd", "ct state new ct status dnat counter"),
                ("fwd", "ct state established accept"),
                ("post", "meta mark & 0x4000 == 0x4000 meta mark set meta mark ^ 0x4000 masquerade fully-random"),
            ])
        let tracer = PacketTracer(nft: nft, localAddresses: [IPAddress("192.0.2.10")!])
        let packet = TracedPacket(.tcp, from: "192.0.2.50", to: "10.96.0.1", port: 80, sourcePort: 5555)
        let first = try tracer.trace(packet)
        #expect(first.fate == .forwarded)
        #expect(first.dnat == NATBinding(address: IPAddress("10.244.0.9")!, port: 8080))
        #expect(first.snat == NATBinding(address: IPAddress("192.0.2.10")!, port: 5555))
        #expect(first.masquerade == ["fully-random"])
        #expect(first.marksSet == [0x4000, 0])
        #expect(first.matchedRules.contains("ct state new ct status dnat counter"))
        #expect(first.steps.contains { $0.kind == .skipped && $0.chain == "pre2" })
        #expect(tracer.connectionCount == 1)

        let second = try tracer.trace(packet)
        #expect(!second.isNewConnection)
        #expect(second.packet.destination == IPAddress("10.244.0.9")! && second.packet.source == first.packet.source)
        #expect(second.matchedRules == ["ct state established accept"])
        #expect(!second.chains.contains("pre") && !second.chains.contains("post"))
    }

    @Test func verdictMapsNumgenAndDataMaps() throws {
        let nft = try Self.load(
            chains: [
                ("pre", .prerouting, .nat, "dstnat", "accept"), ("x", nil, nil, nil, nil), ("y", nil, nil, nil, nil),
            ],
            sets: [
                Self.set("dispatch", typeOf: "ip daddr . th dport", mapType: "verdict"),
                Self.set(
                    "backends", typeOf: "ip daddr . numgen random mod 2", mapType: "ip daddr . th dport"),
            ],
            elements: [
                Self.element("dispatch", "10.96.0.1 . 80", "goto x"),
                Self.element("backends", "10.96.0.2 . 0", "10.244.0.1 . 8080"),
                Self.element("backends", "10.96.0.2 . 1", "10.244.0.2 . 8081"),
            ],
            rules: [
                ("pre", "ip daddr . th dport vmap @dispatch"),
                ("pre", "dnat ip to ip daddr . numgen random mod 2 map @backends"),
                ("x", "numgen random mod 2 vmap { 0 : jump y, 1 : drop }"),
                ("x", "dnat ip to 10.244.9.9:9000"),
                ("y", "tcp dport 80 dnat ip to 10.244.1.1"),
            ])
        let tracer = PacketTracer(nft: nft, random: .sequence([0, 1, 3]))
        let viaY = try tracer.trace(TracedPacket(.tcp, from: "10.1.1.1", to: "10.96.0.1", port: 80))
        #expect(viaY.chains == ["pre", "x", "y"])
        #expect(viaY.dnat == NATBinding(address: IPAddress("10.244.1.1")!, port: 80))
        let dropped = try tracer.trace(TracedPacket(.tcp, from: "10.1.1.2", to: "10.96.0.1", port: 80))
        #expect(dropped.fate == .dropped && dropped.randomNumbers == [1])
        let mapped = try tracer.trace(TracedPacket(.tcp, from: "10.1.1.3", to: "10.96.0.2", port: 80))
        #expect(mapped.randomNumbers == [1], "3 mod 2")
        #expect(mapped.dnat == NATBinding(address: IPAddress("10.244.0.2")!, port: 8081))
        // No element: the rule does not match, the packet goes on unchanged.
        let missed = try tracer.trace(TracedPacket(.tcp, from: "10.1.1.4", to: "10.96.0.3", port: 80))
        #expect(missed.dnat == nil && missed.fate == .forwarded)

        let seeded = PacketTracer(nft: nft, random: .seeded(42))
        let again = PacketTracer(nft: nft, random: .seeded(42))
        let packet = TracedPacket(.tcp, from: "10.1.1.3", to: "10.96.0.2", port: 80)
        #expect(try seeded.trace(packet).dnat == again.trace(packet).dnat, "a seed gives the same picks")
    }

    @Test func dynamicSetsKeepElementsUntilTheyExpire() throws {
        let nft = try Self.load(
            chains: [("in", .input, .filter, "filter", "accept")],
            sets: [
                Self.set("seen", typeOf: "ip saddr", flags: [.dynamic, .timeout], timeout: "1m"),
                Self.set("once", typeOf: "ip saddr . tcp dport", flags: [.dynamic, .timeout], timeout: "10s"),
            ],
            rules: [
                ("in", "ip saddr @seen drop"),
                ("in", "update @seen { ip saddr }"),
                ("in", "add @once { ip saddr . tcp dport timeout 5s }"),
            ])
        let tracer = PacketTracer(nft: nft, localAddresses: [IPAddress("10.0.0.2")!])
        let packet = TracedPacket(.tcp, from: "10.0.0.1", to: "10.0.0.2", port: 22, sourcePort: 1)
        let first = try tracer.trace(packet)
        #expect(first.fate == .deliveredLocally)
        #expect(first.setUpdates.map(\.key) == ["10.0.0.1", "10.0.0.1 . 22"])
        #expect(first.setUpdates.map(\.expires) == [60, 5])
        #expect(tracer.dynamicElements(table: Self.t, set: "seen") == ["10.0.0.1"])
        tracer.forgetConnections()
        #expect(try tracer.trace(packet).fate == .dropped)
        tracer.advance(seconds: 61)
        #expect(tracer.dynamicElements(table: Self.t, set: "once").isEmpty)
        #expect(
            try tracer.trace(TracedPacket(.tcp, from: "10.0.0.1", to: "10.0.0.2", port: 22, sourcePort: 2)).fate
                == .deliveredLocally)
    }

    @Test func unknownSyntaxThrowsNamingTheRule() throws {
        let nft = try Self.load(
            chains: [("fwd", .forward, .filter, "filter", "accept")],
            rules: [("fwd", "ip saddr 10.0.0.1 accept"), ("fwd", "ip saddr 10.0.0.2 limit rate 10/second drop")])
        let tracer = PacketTracer(nft: nft)
        // A packet the first rule accepts never reaches the second.
        #expect(try tracer.trace(TracedPacket(.tcp, from: "10.0.0.1", to: "10.0.0.9", port: 1)).fate == .forwarded)
        let error = #expect(throws: PacketTracerError.self) {
            try tracer.trace(TracedPacket(.tcp, from: "10.0.0.3", to: "10.0.0.9", port: 1))
        }
        #expect(error?.description.contains("limit rate 10/second") == true, "\(String(describing: error))")
        #expect(error?.description.contains("chain fwd") == true)
        #expect(throws: PacketTracerError.self) { try tracer.validate() }

        for body in [
            "ip saddr 10.0.0.0/33 drop", "meta skuid 0 drop", "tcp dport ssh accept", "ct mark set 1",
            "fib daddr type local drop", "ip6 saddr 10.0.0.1 drop",
        ] {
            let bad = try Self.load(chains: [("fwd", .forward, .filter, "filter", "accept")], rules: [("fwd", body)])
            #expect(throws: PacketTracerError.self, "\(body)") {
                try PacketTracer(nft: bad).trace(TracedPacket(.tcp, from: "10.0.0.3", to: "10.0.0.9", port: 1))
            }
        }
        // A NAT statement outside a nat chain, and a set element of the wrong family, fail as loudly.
        let misplaced = try Self.load(
            chains: [("fwd", .forward, .filter, "filter", "accept")], rules: [("fwd", "masquerade")])
        #expect(throws: PacketTracerError.self) {
            try PacketTracer(nft: misplaced).trace(TracedPacket(.tcp, from: "10.0.0.3", to: "10.0.0.9", port: 1))
        }
        let wrongFamily = try Self.load(
            chains: [("fwd", .forward, .filter, "filter", "accept")], sets: [Self.set("s", typeOf: "ip saddr")],
            elements: [Self.element("s", "fd00::1")], rules: [("fwd", "ip saddr @s drop")])
        let setError = #expect(throws: PacketTracerError.self) {
            try PacketTracer(nft: wrongFamily).trace(TracedPacket(.tcp, from: "10.0.0.3", to: "10.0.0.9", port: 1))
        }
        #expect(setError?.description.contains("set s element `fd00::1`") == true)
    }
}
