import Glibc
import Netlink
import Testing
import WeftNet

/// A node namespace and a pod namespace joined by a veth pair that is up on both ends.
private struct Wire {
    var node: TestNetNS
    var pod: TestNetNS
    var host: Link
    var eth0: Link

    init(_ n: [TestNetNS]) throws {
        node = n[0]
        pod = n[1]
        let hostName = "wft" + randomSuffix()
        try node.socket.addVeth(name: hostName, peerName: "eth0", peerNetNS: pod.ns)
        host = try node.link(hostName)
        eth0 = try pod.link("eth0")
        try node.socket.setUp(index: host.index)
        try pod.socket.setUp(index: eth0.index)
    }
}

@Suite(.enabled(if: isRoot, "needs root"))
struct AddressTests {
    @Test func addListDeleteDualStack() throws {
        try withNamespaces(2) { n in
            let w = try Wire(n)
            let s = w.pod.socket
            let v4 = IPPrefix("10.22.0.5/24")!
            let v6 = IPPrefix("fd00:22::5/64")!
            try s.addAddress(index: w.eth0.index, prefix: v4)
            try s.addAddress(index: w.eth0.index, prefix: v6, noDAD: true)

            let mine = try s.addresses(index: w.eth0.index)
            #expect(mine.contains { $0.prefix == v4 && $0.scope == 0 })
            let v6Entry = try #require(mine.first { $0.prefix == v6 })
            #expect(v6Entry.flags & AddressEntry.flagNoDAD != 0)
            #expect(v6Entry.flags & AddressEntry.flagTentative == 0)
            #expect(try s.addresses(index: w.eth0.index, family: .v4).map(\.prefix) == [v4])
            #expect(try s.addresses(family: .v4).contains { $0.prefix == v4 })
            #expect(try !s.addresses(family: .v6).contains { $0.prefix == v4 })

            // Cross-check with iproute2, including the broadcast address.
            let json = try runJSON(["ip", "-n", w.pod.name, "-j", "addr", "show", "dev", "eth0"])
            let infos = json.first?["addr_info"] as? [[String: Any]] ?? []
            let inet = infos.first { $0["family"] as? String == "inet" }
            #expect(inet?["local"] as? String == "10.22.0.5")
            #expect(inet?["prefixlen"] as? Int == 24)
            #expect(inet?["broadcast"] as? String == "10.22.0.255")
            let inet6 = infos.first { $0["local"] as? String == "fd00:22::5" }
            #expect(inet6?["prefixlen"] as? Int == 64)
            #expect(inet6?["nodad"] as? Bool == true)

            let duplicate = try #require(throws: NetlinkError.self) {
                try s.addAddress(index: w.eth0.index, prefix: v4)
            }
            #expect(duplicate.errno == EEXIST)
            #expect(duplicate.operation == "RTM_NEWADDR 10.22.0.5/24 ifindex \(w.eth0.index)")

            try s.deleteAddress(index: w.eth0.index, prefix: v4)
            try s.deleteAddress(index: w.eth0.index, prefix: v6)
            #expect(try !s.addresses(index: w.eth0.index).contains { $0.prefix == v4 || $0.prefix == v6 })
            let gone = try #require(throws: NetlinkError.self) { try s.deleteAddress(index: w.eth0.index, prefix: v4) }
            #expect(gone.errno == EADDRNOTAVAIL)
        }
    }
}

@Suite(.enabled(if: isRoot, "needs root"))
struct RouteTests {
    @Test func defaultLinkScopeTableMetric() throws {
        try withNamespaces(2) { n in
            let w = try Wire(n)
            let s = w.pod.socket
            let eth0 = w.eth0.index
            try s.addAddress(index: eth0, prefix: IPPrefix("10.22.0.5/24")!)
            try s.addAddress(index: eth0, prefix: IPPrefix("fd00:22::5/64")!, noDAD: true)

            let linkRoute = Route(destination: IPPrefix("10.99.0.0/16")!, outputIndex: eth0, scope: .link)
            let defaultV4 = Route(
                destination: Route.defaultDestination(.v4), gateway: IPAddress("10.22.0.1"), outputIndex: eth0,
                metric: 100, source: IPAddress("10.22.0.5"), mtu: 1400)
            let defaultV6 = Route(
                destination: Route.defaultDestination(.v6), gateway: IPAddress("fd00:22::1"), outputIndex: eth0)
            let inTable = Route(
                destination: IPPrefix("172.30.0.0/24")!, gateway: IPAddress("10.22.0.1"), outputIndex: eth0,
                table: 100, metric: 7)
            let onlink = Route(
                destination: IPPrefix("192.168.50.0/24")!, gateway: IPAddress("169.254.1.1"), outputIndex: eth0,
                onlink: true)
            for r in [linkRoute, defaultV4, defaultV6, inTable, onlink] { try s.addRoute(r) }

            let main4 = try s.routes(family: .v4)
            #expect(main4.contains(linkRoute))
            #expect(main4.contains(defaultV4))
            #expect(main4.contains(onlink))
            #expect(!main4.contains(inTable))
            // The connected route the kernel made for the address.
            #expect(
                main4.contains {
                    $0.destination == IPPrefix("10.22.0.0/24")! && $0.protocolID == Route.protocolKernel
                        && $0.scope == .link && $0.source == IPAddress("10.22.0.5")
                })
            #expect(try s.routes(family: .v4, table: 100) == [inTable])

            let main6 = try s.routes(family: .v6)
            let v6Default = try #require(main6.first { $0.isDefault })
            #expect(v6Default.gateway == IPAddress("fd00:22::1"))
            #expect(v6Default.outputIndex == eth0)
            #expect(v6Default.metric == 1024)  // the kernel's default for IPv6

            // Cross-check with iproute2.
            let json = try runJSON(["ip", "-n", w.pod.name, "-j", "route", "show", "table", "100"])
            #expect(json.count == 1)
            #expect(json.first?["dst"] as? String == "172.30.0.0/24")
            #expect(json.first?["gateway"] as? String == "10.22.0.1")
            #expect(json.first?["metric"] as? Int == 7)
            let defaults = try runJSON(["ip", "-n", w.pod.name, "-j", "route", "show", "default"])
            #expect(defaults.first?["gateway"] as? String == "10.22.0.1")
            #expect(defaults.first?["prefsrc"] as? String == "10.22.0.5")
            #expect(defaults.first?["metric"] as? Int == 100)

            // EEXIST, replace, delete, ESRCH.
            let again = try #require(throws: NetlinkError.self) { try s.addRoute(defaultV4) }
            #expect(again.errno == EEXIST)
            #expect(again.operation.hasPrefix("RTM_NEWROUTE default via 10.22.0.1"))
            var moved = defaultV4
            moved.gateway = IPAddress("10.22.0.254")
            try s.replaceRoute(moved)
            #expect(try s.routes(family: .v4).filter(\.isDefault) == [moved])
            try s.deleteRoute(moved)
            try s.deleteRoute(linkRoute)
            try s.deleteRoute(inTable)
            try s.deleteRoute(defaultV6)
            #expect(try !s.routes(family: .v4).contains { $0.isDefault || $0 == linkRoute })
            #expect(try s.routes(family: .v4, table: 100).isEmpty)
            #expect(try !s.routes(family: .v6).contains { $0.isDefault })
            let missing = try #require(throws: NetlinkError.self) { try s.deleteRoute(linkRoute) }
            #expect(missing.errno == ESRCH)
        }
    }

    @Test func unreachableGatewayIsRejected() throws {
        try withNamespaces(2) { n in
            let w = try Wire(n)
            let error = try #require(throws: NetlinkError.self) {
                try w.pod.socket.addRoute(
                    Route(
                        destination: IPPrefix("10.1.0.0/16")!, gateway: IPAddress("10.200.0.1"),
                        outputIndex: w.eth0.index))
            }
            #expect(error.errno == ENETUNREACH)
        }
    }
}
