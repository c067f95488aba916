import CNI
import Glibc
import NFTables
import Netlink
import Testing

/// weft-cni through its real binary, as a runtime calls it, in namespaces the tests make. Serialized: the tests
/// share the node's `weft-cni` nftables tables, which each test removes at its end.
extension KernelTests {
    @Suite(.enabled(if: isRoot, "needs root for network namespaces"))
    final class BridgePluginTests {
        let h: Harness

        init() throws { h = try Harness() }

        deinit {
            h.cleanup()
        }

        func bridgeConfig(_ n: Int, bridge: String, version: String = "1.1.0", extra: String = "") -> String {
            #"""
            {"cniVersion":"\#(version)","name":"it\#(n)","type":"weft-cni","bridge":"\#(bridge)","isDefaultGateway":true,
             "ipMasq":true,"stateDir":"\#(h.dir)/state","ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/ipam",
             "ranges":[[{"subnet":"10.210.\#(n).0/24"}],[{"subnet":"fd10:\#(n)::/64"}]]}\#(extra)}
            """#
        }

        /// Nothing the plugin made for the network's pods is left: no veth on the bridge, no IPAM files, no records,
        /// no pod elements. The network's masquerade elements stay until GC finds no valid attachment
        /// (`networkGone`).
        func expectNothingLeft(network: String, bridge: String, networkGone: Bool = false) throws {
            let ipamFiles = FileSystemList.entries("\(h.dir)/ipam/\(network)").filter {
                $0.contains(".") && !$0.hasPrefix("last_")
            }
            #expect(ipamFiles.isEmpty, "IPAM reservations left: \(ipamFiles)")
            #expect(FileSystemList.entries("\(h.dir)/state/\(network)").isEmpty)
            let s = try RouteSocket()
            defer { s.close() }
            if let br = try s.link(named: bridge) {
                let ports = try s.links().filter { $0.masterIndex == br.index }
                #expect(ports.isEmpty, "ports left on \(bridge): \(ports.map(\.name))")
            }
            let backend = defaultNFTablesBackend()
            for set in ["masq4", "masq6", "hostport4-any", "hostport6-any", "hostport4", "hostport6"] {
                let left = ((try? backend.listElements(family: .inet, table: HostRules.table, set: set)) ?? []).filter {
                    $0.comment?.hasPrefix(network + "/") == true || (networkGone && $0.comment == network)
                }
                #expect(left.isEmpty, "elements left in \(set): \(left.map(\.key))")
            }
        }

        @Test func addCheckDelTwoPodsTalkOverIPv4AndIPv6() throws {
            let bridge = h.name("wfb")
            h.ownLink(bridge)
            let config = bridgeConfig(1, bridge: bridge)
            let nsA = try h.makeNetNS("a"), nsB = try h.makeNetNS("b")
            let a = try h.cni("ADD", config: config, containerID: "pod-a", netns: nsA)
            let b = try h.cni("ADD", config: config, containerID: "pod-b", netns: nsB)
            #expect(a.ok, "\(a.stdout)")
            #expect(b.ok, "\(b.stdout)")
            #expect(a.addresses == ["10.210.1.2", "fd10:1::2"])
            #expect(b.addresses == ["10.210.1.3", "fd10:1::3"])
            // The result names the bridge, the host veth and the pod's interface, in that order, as bridge does.
            let ifaces = a.json?["interfaces"]?.arrayValue ?? []
            #expect(
                ifaces.map { $0["name"]?.stringValue } == [
                    bridge, HostVethName.make(containerID: "pod-a", ifname: "eth0"), "eth0",
                ])
            #expect(ifaces[2]["sandbox"]?.stringValue == nsA)
            #expect(sh("ip -n \(nsA.split(separator: "/").last!) -j addr show eth0").output.contains("fd10:1::2"))

            // Real TCP both ways, over both families.
            // Real TCP both ways, over both families; within the subnet the source is not masqueraded.
            let listener = try TCPListener(netns: nsB, port: 8080, replyWithPeer: true)
            defer { listener.stop() }
            #expect(try tcpRequest(from: nsA, to: "10.210.1.3", port: 8080, message: "v4") == "pong v4 from 10.210.1.2")
            #expect(try tcpRequest(from: nsA, to: "fd10:1::3", port: 8080, message: "v6") == "pong v6 from fd10:1::2")

            // CHECK with the ADD result as prevResult succeeds; after the pod's address is removed it fails.
            let prev = a.stdout
            let checkConfig = String(config.dropLast()) + #","prevResult":\#(prev)}"#
            let check = try h.cni("CHECK", config: checkConfig, containerID: "pod-a", netns: nsA)
            #expect(check.ok, "\(check.stdout)")
            _ = sh("ip -n \(nsA.split(separator: "/").last!) addr del 10.210.1.2/24 dev eth0")
            let broken = try h.cni("CHECK", config: checkConfig, containerID: "pod-a", netns: nsA)
            #expect(!broken.ok && broken.code == 104, "\(broken.stdout)")

            for (id, ns) in [("pod-a", nsA), ("pod-b", nsB)] {
                #expect(try h.cni("DEL", config: config, containerID: id, netns: ns).ok)
                // DEL again, and DEL without the netns, both succeed.
                #expect(try h.cni("DEL", config: config, containerID: id, netns: ns).ok)
                #expect(try h.cni("DEL", config: config, containerID: id, netns: "/run/netns/weft-gone").ok)
            }
            try expectNothingLeft(network: "it1", bridge: bridge)
        }

        @Test(arguments: ["0.3.0", "0.3.1", "0.4.0", "1.0.0"])
        func resultsInTheConfigsVersion(version: String) throws {
            let bridge = h.name("wfv")
            h.ownLink(bridge)
            let config = bridgeConfig(2, bridge: bridge, version: version)
            let ns = try h.makeNetNS("v")
            let r = try h.cni("ADD", config: config, containerID: "pod-v", netns: ns)
            #expect(r.ok, "\(r.stdout)")
            #expect(r.json?["cniVersion"]?.stringValue == version)
            let hasIPVersion = r.json?["ips"]?.arrayValue?.first?["version"] != nil
            #expect(hasIPVersion == !CNIVersion.atLeast(version, "1.0.0"))
            #expect(try h.cni("DEL", config: config, containerID: "pod-v", netns: ns).ok)
            try expectNothingLeft(network: "it2", bridge: bridge)
        }

        @Test func hostPortIsReachableFromAnotherNamespace() throws {
            let bridge = h.name("wfp")
            h.ownLink(bridge)
            let pm = #","runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}"#
            let config = bridgeConfig(3, bridge: bridge, extra: pm)
            let pod = try h.makeNetNS("pod")
            let client = try h.makeNetNS("cl")
            // The client is another host on a link of its own to the node.
            let hostEnd = h.name("wfc")
            h.ownLink(hostEnd)
            let clientName = client.split(separator: "/").last!
            let setup = sh(
                """
                ip link add \(hostEnd) type veth peer name up0 netns \(clientName) &&
                ip addr add 10.211.0.1/30 dev \(hostEnd) && ip addr add fd11::1/64 dev \(hostEnd) nodad && ip link set \(hostEnd) up &&
                ip -n \(clientName) addr add 10.211.0.2/30 dev up0 && ip -n \(clientName) addr add fd11::2/64 dev up0 nodad &&
                ip -n \(clientName) link set up0 up && ip -n \(clientName) link set lo up &&
                ip -n \(clientName) route add default via 10.211.0.1 && ip -n \(clientName) -6 route add default via fd11::1
                """)
            #expect(setup.status == 0, "\(setup.output)")
            let r = try h.cni("ADD", config: config, containerID: "pod-p", netns: pod)
            #expect(r.ok, "\(r.stdout)")
            let listener = try TCPListener(netns: pod, port: 80)
            defer { listener.stop() }
            #expect(try tcpRequest(from: client, to: "10.211.0.1", port: 18080, message: "hp4") == "pong hp4")
            #expect(try tcpRequest(from: client, to: "fd11::1", port: 18080, message: "hp6") == "pong hp6")
            // ipMasq: the pod's connections out of its subnet arrive from the node's address.
            let outside = try TCPListener(netns: client, port: 9000, replyWithPeer: true)
            defer { outside.stop() }
            #expect(try tcpRequest(from: pod, to: "10.211.0.2", port: 9000, message: "m4") == "pong m4 from 10.211.0.1")
            #expect(try tcpRequest(from: pod, to: "fd11::2", port: 9000, message: "m6") == "pong m6 from fd11::1")
            // A second pod asking for the same hostPort fails, and leaves nothing behind.
            let other = try h.makeNetNS("p2")
            let clash = try h.cni("ADD", config: config, containerID: "pod-q", netns: other)
            #expect(!clash.ok && clash.code == 102, "\(clash.stdout)")
            #expect(sh("ip -n \(other.split(separator: "/").last!) link show eth0").status != 0)
            #expect(try h.cni("DEL", config: config, containerID: "pod-p", netns: pod).ok)
            #expect(throws: (any Error).self) {
                try tcpRequest(from: client, to: "10.211.0.1", port: 18080, message: "x", timeoutSeconds: 1)
            }
            try expectNothingLeft(network: "it3", bridge: bridge)
        }

        @Test func fiftyConcurrentAddsGetDistinctAddresses() async throws {
            let bridge = h.name("wfn")
            h.ownLink(bridge)
            let config = bridgeConfig(4, bridge: bridge)
            let namespaces = try (0..<50).map { try h.makeNetNS("n\($0)") }
            let harness = h
            let results = try await withThrowingTaskGroup(of: CNIOutcome.self) { group in
                for (i, ns) in namespaces.enumerated() {
                    group.addTask { try harness.cni("ADD", config: config, containerID: "pod-\(i)", netns: ns) }
                }
                return try await group.reduce(into: [CNIOutcome]()) { $0.append($1) }
            }
            let failed = results.filter { !$0.ok }.map(\.stdout)
            #expect(failed.isEmpty, "\(failed)")
            let v4 = results.compactMap { $0.addresses.first }
            #expect(Set(v4).count == 50)
            #expect(Set(results.compactMap { $0.addresses.last }).count == 50)
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for (i, ns) in namespaces.enumerated() {
                    group.addTask { try harness.cni("DEL", config: config, containerID: "pod-\(i)", netns: ns).ok }
                }
                for try await ok in group { #expect(ok) }
            }
            try expectNothingLeft(network: "it4", bridge: bridge)
        }

        @Test func gcRemovesEveryAttachmentNotListed() throws {
            let bridge = h.name("wfg")
            h.ownLink(bridge)
            for i in 0..<3 {
                let ns = try h.makeNetNS("g\(i)")
                let pm =
                    #","runtimeConfig":{"portMappings":[{"hostPort":\#(18090 + i),"containerPort":80,"protocol":"udp"}]}"#
                let add = try h.cni(
                    "ADD", config: bridgeConfig(5, bridge: bridge, extra: pm), containerID: "pod-\(i)", netns: ns)
                #expect(add.ok, "\(add.stdout)")
            }
            // Pod 2's record is lost, as after a crash: GC must still find its address, rules and veth.
            FileSystem_remove("\(h.dir)/state/it5/pod-2-eth0.json")
            let gcConfig =
                String(bridgeConfig(5, bridge: bridge).dropLast())
                + #","cni.dev/valid-attachments":[{"containerID":"pod-0","ifname":"eth0"}]}"#
            let gc = try h.cni("GC", config: gcConfig)
            #expect(gc.ok, "\(gc.stdout)")
            let s = try RouteSocket()
            defer { s.close() }
            #expect(try s.link(named: HostVethName.make(containerID: "pod-0", ifname: "eth0")) != nil)
            for i in 1..<3 {
                #expect(try s.link(named: HostVethName.make(containerID: "pod-\(i)", ifname: "eth0")) == nil)
            }
            let reserved = FileSystemList.entries("\(h.dir)/ipam/it5").filter {
                $0.hasPrefix("10.") || $0.hasPrefix("fd")
            }
            #expect(Set(reserved) == ["10.210.5.2", "fd10:5::2"])
            let masq = try defaultNFTablesBackend().listElements(family: .inet, table: HostRules.table, set: "masq4")
                .map(\.key)
            #expect(masq == ["10.210.5.0/24"])
            // GC with nothing valid leaves nothing at all.
            let gcAll = String(bridgeConfig(5, bridge: bridge).dropLast()) + #","cni.dev/valid-attachments":[]}"#
            #expect(try h.cni("GC", config: gcAll).ok)
            try expectNothingLeft(network: "it5", bridge: bridge, networkGone: true)
            // The bridge weft-cni made had no ports left, so GC removed it as well.
            #expect(try s.link(named: bridge) == nil)
            #expect(try h.cni("STATUS", config: bridgeConfig(5, bridge: bridge)).ok)
        }

        @Test func failuresLeaveNothingBehind() throws {
            let bridge = h.name("wff")
            h.ownLink(bridge)
            // An exhausted range: code 100, no veth, no reservation.
            let tiny = #"""
                {"cniVersion":"1.1.0","name":"it6","type":"weft-cni","bridge":"\#(bridge)","stateDir":"\#(h.dir)/state",
                 "ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/ipam","subnet":"10.210.6.0/30"}}
                """#
            let ns1 = try h.makeNetNS("f1"), ns2 = try h.makeNetNS("f2")
            #expect(try h.cni("ADD", config: tiny, containerID: "pod-1", netns: ns1).ok)
            let full = try h.cni("ADD", config: tiny, containerID: "pod-2", netns: ns2)
            #expect(!full.ok && full.code == 100, "\(full.stdout)")
            #expect(sh("ip -n \(ns2.split(separator: "/").last!) link show eth0").status != 0)
            // The interface name is already taken in the netns: code 7, the address is released again.
            let dup = try h.cni("ADD", config: tiny, containerID: "pod-1b", netns: ns1)
            #expect(!dup.ok && dup.code == 7, "\(dup.stdout)")
            // A netns that does not exist: code 4, naming it.
            let nons = try h.cni("ADD", config: tiny, containerID: "pod-3", netns: "/run/netns/weft-nonexistent")
            #expect(!nons.ok && nons.code == 4 && nons.stdout.contains("weft-nonexistent"))
            #expect(try h.cni("DEL", config: tiny, containerID: "pod-1", netns: ns1).ok)
            try expectNothingLeft(network: "it6", bridge: bridge)
        }

        @Test func macAndAddressRequestsAndMACSpoofCheck() throws {
            let bridge = h.name("wfm")
            h.ownLink(bridge)
            let config = bridgeConfig(
                8, bridge: bridge,
                extra: #","macspoofchk":true,"runtimeConfig":{"mac":"02:00:5e:10:00:08","ips":["10.210.8.50"]}"#)
            let nsA = try h.makeNetNS("ma"), nsB = try h.makeNetNS("mb")
            let a = try h.cni("ADD", config: config, containerID: "pod-a", netns: nsA)
            #expect(a.ok, "\(a.stdout)")
            #expect(a.addresses == ["10.210.8.50", "fd10:8::2"])
            #expect(a.json?["interfaces"]?.arrayValue?.last?["mac"]?.stringValue == "02:00:5e:10:00:08")
            let plain = bridgeConfig(8, bridge: bridge)
            let b = try h.cni("ADD", config: plain, containerID: "pod-b", netns: nsB)
            #expect(b.ok, "\(b.stdout)")
            // Round robin continues after the requested .50.
            #expect(b.addresses.first == "10.210.8.51")
            let listener = try TCPListener(netns: nsB, port: 8082)
            defer { listener.stop() }
            #expect(try tcpRequest(from: nsA, to: "10.210.8.51", port: 8082, message: "mac") == "pong mac")
            // Pod a forges another source MAC: its frames are dropped at the bridge.
            let a_ = nsA.split(separator: "/").last!
            _ = sh("ip -n \(a_) link set eth0 address 02:00:5e:10:00:99 && ip -n \(a_) neigh flush all")
            #expect(throws: (any Error).self) {
                try tcpRequest(from: nsA, to: "10.210.8.51", port: 8082, message: "x", timeoutSeconds: 1)
            }
            _ = sh("ip -n \(a_) link set eth0 address 02:00:5e:10:00:08")
            #expect(try tcpRequest(from: nsA, to: "10.210.8.51", port: 8082, message: "back") == "pong back")
            #expect(try h.cni("DEL", config: config, containerID: "pod-a", netns: nsA).ok)
            #expect(try h.cni("DEL", config: plain, containerID: "pod-b", netns: nsB).ok)
            try expectNothingLeft(network: "it8", bridge: bridge)
            let l2 =
                (try? defaultNFTablesBackend().listElements(
                    family: .bridge, table: HostRules.table, set: "macspoof-ports")) ?? []
            #expect(l2.isEmpty)
        }

        @Test func masqueradeSubnetsOfNetworksMustNotOverlap() throws {
            let bridge = h.name("wfo")
            h.ownLink(bridge)
            func config(_ name: String, _ subnet: String) -> String {
                #"""
                {"cniVersion":"1.1.0","name":"\#(name)","type":"weft-cni","bridge":"\#(bridge)","ipMasq":true,
                 "stateDir":"\#(h.dir)/state","ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/ipam","subnet":"\#(subnet)"}}
                """#
            }
            let ns1 = try h.makeNetNS("o1"), ns2 = try h.makeNetNS("o2"), ns3 = try h.makeNetNS("o3")
            #expect(try h.cni("ADD", config: config("it9", "10.210.9.0/24"), containerID: "pod-1", netns: ns1).ok)
            // Another network whose subnet overlaps: a clear error naming both, and nothing left behind.
            let clash = try h.cni("ADD", config: config("it9b", "10.210.0.0/16"), containerID: "pod-2", netns: ns2)
            #expect(!clash.ok && clash.code == 7, "\(clash.stdout)")
            #expect(clash.stdout.contains("10.210.9.0/24") && clash.stdout.contains("it9"))
            #expect(sh("ip -n \(ns2.split(separator: "/").last!) link show eth0").status != 0)
            // The same network with a new, overlapping subnet replaces its old masquerade subnet.
            #expect(try h.cni("DEL", config: config("it9", "10.210.9.0/24"), containerID: "pod-1", netns: ns1).ok)
            let moved = try h.cni("ADD", config: config("it9", "10.210.8.0/22"), containerID: "pod-3", netns: ns3)
            #expect(moved.ok, "\(moved.stdout)")
            let masq = try defaultNFTablesBackend().listElements(family: .inet, table: HostRules.table, set: "masq4")
            #expect(masq.filter { $0.comment == "it9" }.map(\.key) == ["10.210.8.0/22"])
            #expect(try h.cni("DEL", config: config("it9", "10.210.8.0/22"), containerID: "pod-3", netns: ns3).ok)
        }

        @Test func bridgeKeysTakeEffect() throws {
            let bridge = h.name("wfk")
            h.ownLink(bridge)
            let config = bridgeConfig(
                10, bridge: bridge, extra: #","mtu":1400,"hairpinMode":true,"promiscMode":true"#)
            let ns = try h.makeNetNS("k")
            let r = try h.cni("ADD", config: config, containerID: "pod-k", netns: ns)
            #expect(r.ok, "\(r.stdout)")
            #expect(r.json?["interfaces"]?.arrayValue?.last?["mtu"] == .number(1400))
            let s = try RouteSocket()
            defer { s.close() }
            let hostEnd = try #require(try s.link(named: HostVethName.make(containerID: "pod-k", ifname: "eth0")))
            #expect(hostEnd.mtu == 1400)
            #expect(hostEnd.bridgePortHairpin == true)
            #expect(try s.link(named: bridge)?.isPromiscuous == true)
            #expect(try s.link(named: bridge)?.alias == "weft-cni")
            #expect(sh("ip -n \(ns.split(separator: "/").last!) link show eth0").output.contains("mtu 1400"))
            // The bridge has 10.210.10.1/24 now; a network that wants another gateway in that subnet fails
            // without forceAddress and replaces it with forceAddress.
            let other = #"""
                {"cniVersion":"1.1.0","name":"it10b","type":"weft-cni","bridge":"\#(bridge)","isGateway":true,
                 "stateDir":"\#(h.dir)/state","ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/ipam",
                 "subnet":"10.210.10.0/24","gateway":"10.210.10.254"}FORCE}
                """#
            let ns2 = try h.makeNetNS("k2")
            let refused = try h.cni(
                "ADD", config: other.replacingOccurrences("FORCE", ""), containerID: "pod-k2", netns: ns2)
            #expect(!refused.ok && refused.code == 7, "\(refused.stdout)")
            let forced = try h.cni(
                "ADD", config: other.replacingOccurrences("FORCE", #","forceAddress":true"#), containerID: "pod-k2",
                netns: ns2)
            #expect(forced.ok, "\(forced.stdout)")
            let addrs = try s.addresses(index: try #require(try s.link(named: bridge)).index, family: .v4).map(\.prefix)
            #expect(addrs.map(\.description) == ["10.210.10.254/24"])
            #expect(try h.cni("DEL", config: config, containerID: "pod-k", netns: ns).ok)
            #expect(
                try h.cni("DEL", config: other.replacingOccurrences("FORCE", ""), containerID: "pod-k2", netns: ns2).ok)
        }

        @Test func ptpModeRoutesThroughTheHost() throws {
            let config = #"""
                {"cniVersion":"1.1.0","name":"it7","type":"weft-cni","mode":"ptp","isDefaultGateway":true,"stateDir":"\#(h.dir)/state",
                 "ipam":{"type":"weft-ipam","dataDir":"\#(h.dir)/ipam","ranges":[[{"subnet":"10.210.7.0/24"}],[{"subnet":"fd10:7::/64"}]]}}
                """#
            let nsA = try h.makeNetNS("pa"), nsB = try h.makeNetNS("pb")
            let a = try h.cni("ADD", config: config, containerID: "pod-a", netns: nsA)
            let b = try h.cni("ADD", config: config, containerID: "pod-b", netns: nsB)
            #expect(a.ok && b.ok, "\(a.stdout) \(b.stdout)")
            #expect(a.json?["interfaces"]?.arrayValue?.count == 2)
            let listener = try TCPListener(netns: nsB, port: 8081)
            defer { listener.stop() }
            #expect(try tcpRequest(from: nsA, to: "10.210.7.3", port: 8081, message: "ptp4") == "pong ptp4")
            #expect(try tcpRequest(from: nsA, to: "fd10:7::3", port: 8081, message: "ptp6") == "pong ptp6")
            #expect(try h.cni("DEL", config: config, containerID: "pod-a", netns: nsA).ok)
            #expect(try h.cni("DEL", config: config, containerID: "pod-b", netns: nsB).ok)
            #expect(sh("ip route show 10.210.7.2").output.isEmpty)
            #expect(FileSystemList.entries("\(h.dir)/ipam/it7").filter { $0.hasPrefix("10.") }.isEmpty)
        }
    }
}

func FileSystem_remove(_ path: String) { unlink(path) }
