import Agent
import Glibc
import Netlink
import Testing
import WeftNet

/// The reconciler on the real kernel: node namespaces on a private underlay bridge, pods as addresses on a
/// veth in each node. Root only; one test at a time.
@Suite(.serialized, .enabled(if: getuid() == 0)) struct OverlayKernelTests {
    @Test(arguments: OverlayMode.allCases)
    func podsOnEveryNodeReachEachOtherAndALeavingNodeIsRemoved(mode: OverlayMode) throws {
        try withTopology(nodes: 3) { topology in
            let nodes = topology.nodes
            for node in nodes {
                let report = try node.reconciler(mode).reconcile(topology.networks)
                #expect(report.plan.peers.count == 2)
                #expect(!report.changes.isEmpty)
            }
            for node in nodes {
                let again = try node.reconciler(mode).reconcile(topology.networks)
                #expect(again.changes.isEmpty, "\(node.name): nothing rewritten: \(again.changes)")
            }
            if mode == .vxlan { try checkDevices(nodes[0]) }
            for a in nodes {
                for b in nodes where b.name != a.name {
                    for family in IPFamily.allCases {
                        #expect(ping(from: a, to: b.pod(family)), "\(a.name) → \(b.name) IPv\(family.rawValue)")
                    }
                }
            }
            for (index, family) in [(0, IPFamily.v4), (1, .v6), (2, .v4), (0, .v6)] {
                let a = nodes[index]
                let b = nodes[(index + 1) % nodes.count]
                let answer = try TCPCheck.exchange(
                    client: a.ns, source: a.pod(family), server: b.ns, destination: b.pod(family), port: 8080)
                #expect(answer == "pong ping")
            }

            // node-3 leaves.
            let remaining = Array(topology.networks.prefix(2))
            for node in nodes.prefix(2) { try node.reconciler(mode).reconcile(remaining) }
            for node in nodes.prefix(2) {
                let routes =
                    try run(["ip", "-n", node.netnsName, "route", "show", "proto", "87"]).output
                    + run(["ip", "-n", node.netnsName, "-6", "route", "show", "proto", "87"]).output
                #expect(!routes.contains("10.77.3.0") && !routes.contains("fd00:10:77:3::"), "\(routes)")
                #expect(routes.contains("10.77.") && routes.contains("fd00:10:77:"), "the other peer's routes stay")
                let state = try NetlinkOverlayKernel(socket: node.socket).observe()
                #expect(state.routes.count == 2)
                let gone = [nodes[2].underlay4, nodes[2].underlay6]
                #expect(!state.fdb.contains { gone.contains($0.destination) })
                let goneGateways = [IPAddress("10.77.3.0"), IPAddress("fd00:10:77:3::")]
                #expect(!state.neighbours.contains { goneGateways.contains($0.address) })
                if mode == .vxlan {
                    #expect(state.fdb.count == 2 && state.neighbours.count == 2)
                    let fdb = try run(["bridge", "-n", node.netnsName, "fdb", "show", "dev", "weft.vxlan4"]).output
                    #expect(!fdb.contains("192.168.77.3") && fdb.contains("192.168.77."))
                    let neighbours = try run(["ip", "-n", node.netnsName, "neigh", "show", "dev", "weft.vxlan4"]).output
                    #expect(!neighbours.contains("10.77.3.0"))
                }
            }
            #expect(!ping(from: nodes[0], to: nodes[2].pod4))
            #expect(ping(from: nodes[0], to: nodes[1].pod6))
        }
    }

    @Test func switchingOverlayRemovesTheDevicesAndLeavesOthersRoutes() throws {
        try withTopology(nodes: 2) { topology in
            let node = topology.nodes[0]
            // Someone else's route, in the main table, with another protocol.
            try shell([
                "ip", "-n", node.netnsName, "route", "add", "10.99.0.0/24", "dev", "wfag-pod", "proto", "static",
            ])
            for n in topology.nodes { try n.reconciler(.vxlan).reconcile(topology.networks) }
            #expect(ping(from: node, to: topology.nodes[1].pod6))
            for n in topology.nodes { try n.reconciler(.hostGW).reconcile(topology.networks) }
            #expect(try node.socket.link(named: "weft.vxlan4") == nil)
            #expect(try node.socket.link(named: "weft.vxlan6") == nil)
            let routes = try run(["ip", "-n", node.netnsName, "route", "show"]).output
            #expect(routes.contains("10.77.2.0/24 via 192.168.77.2 dev eth0 proto 87"), "\(routes)")
            #expect(routes.contains("10.99.0.0/24 dev wfag-pod proto static"), "\(routes)")
            for family in IPFamily.allCases { #expect(ping(from: node, to: topology.nodes[1].pod(family))) }
            // Without peers, only the agent's routes go.
            try node.reconciler(.hostGW).reconcile([node.network])
            let left = try run(["ip", "-n", node.netnsName, "route", "show"]).output
            #expect(!left.contains("proto 87") && left.contains("10.99.0.0/24 dev wfag-pod proto static"), "\(left)")
        }
    }

    @Test func aForeignLinkWithTheDevicesNameIsLeftAlone() throws {
        try withTopology(nodes: 2) { topology in
            let node = topology.nodes[0]
            try node.socket.addBridge(name: "weft.vxlan4")
            for n in topology.nodes.dropFirst() { try n.reconciler(.vxlan).reconcile(topology.networks) }
            let error = try #require(throws: OverlayReconcileError.self) {
                try node.reconciler(.vxlan).reconcile(topology.networks)
            }
            #expect(
                error.failures.contains { "\($0.error)".contains("link weft.vxlan4 exists and is not weft agent's") })
            let foreign = try #require(try node.socket.link(named: "weft.vxlan4"))
            #expect(foreign.kind == "bridge" && foreign.alias == nil && !foreign.isUp)
            #expect(ping(from: node, to: topology.nodes[1].pod6), "the other family is unaffected")
            #expect(!ping(from: node, to: topology.nodes[1].pod4))
        }
    }

    /// The VXLAN devices as `ip -d link` shows them.
    private func checkDevices(_ node: TestTopology.NodeNamespace) throws {
        for (family, mtu) in [(IPFamily.v4, 1450), (.v6, 1430)] {
            let name = OverlayConfiguration.deviceName(family)
            let link = try #require(try node.socket.link(named: name))
            let local = family == .v4 ? node.underlay4 : node.underlay6
            #expect(link.mtu == mtu && link.isUp && link.alias == OverlayConfiguration.linkAlias)
            #expect(link.mac == .vtep(underlay: local) && link.vxlanID == 1 && link.vxlanPort == 8472)
            #expect(link.vxlanLocal == local)
            let details = try run(["ip", "-n", node.netnsName, "-d", "link", "show", name]).output
            #expect(details.contains("vxlan id 1 local \(local)"), "\(details)")
            #expect(details.contains("dstport 8472") && details.contains("nolearning"), "\(details)")
        }
    }

    /// Whether one ping from `node`'s pod address of the destination's family gets an answer (one retry).
    private func ping(from node: TestTopology.NodeNamespace, to destination: IPAddress) -> Bool {
        let source = node.pod(destination.family)
        for _ in 0..<2 {
            let result = try? run([
                "ip", "netns", "exec", node.netnsName, "ping", "-c", "1", "-W", "2", "-I", "\(source)",
                "\(destination)",
            ])
            if result?.status == 0 { return true }
        }
        return false
    }
}
