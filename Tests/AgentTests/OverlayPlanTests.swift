import Agent
import KubeModel
import Testing
import WeftNet

@Suite struct OverlayPlanTests {
    let hostGW = OverlayConfiguration(mode: .hostGW)
    let vxlan = OverlayConfiguration(mode: .vxlan)
    let mtu: [IPFamily: Int] = [.v4: 1500, .v6: 1500]

    @Test func hostGWDualStackRoutesViaPeersInternalIPs() {
        let plan = OverlayPlan(nodeName: "a", configuration: hostGW, nodes: dualStackNodes())
        #expect(plan.state.routes.count == 4)
        #expect(
            plan.state.routes[prefix("10.244.2.0/24")]
                == OverlayRoute(
                    destination: prefix("10.244.2.0/24"), gateway: ip("192.168.0.2")))
        #expect(plan.state.routes[prefix("10.244.3.0/24")]?.gateway == ip("192.168.0.3"))
        #expect(plan.state.routes[prefix("fd00:10:244:2::/64")]?.gateway == ip("fd00:192::2"))
        #expect(plan.state.routes[prefix("fd00:10:244:3::/64")]?.gateway == ip("fd00:192::3"))
        #expect(plan.state.routes[prefix("10.244.1.0/24")] == nil, "no route to this node's own pods")
        #expect(plan.state.routes.values.allSatisfy { $0.device == nil && !$0.onlink })
        #expect(plan.state.devices.isEmpty && plan.state.fdb.isEmpty && plan.state.neighbours.isEmpty)
        #expect(plan.peers == ["b", "c"])
        #expect(plan.skipped.isEmpty)
    }

    @Test func vxlanIPv4DeviceFDBNeighbourAndOnlinkRoute() throws {
        let nodes = [
            network("a", podCIDRs: ["10.244.1.0/24"], internalIPs: ["192.168.0.1"]),
            network("b", podCIDRs: ["10.244.2.0/24"], internalIPs: ["192.168.0.2"]),
        ]
        let plan = OverlayPlan(nodeName: "a", configuration: vxlan, nodes: nodes, underlayMTU: [.v4: 9000])
        let device = try #require(plan.state.devices["weft.vxlan4"])
        #expect(
            device
                == VXLANDevice(
                    name: "weft.vxlan4", vni: 1, port: 8472, local: ip("192.168.0.1"), mac: mac("0e:57:c0:a8:00:01"),
                    mtu: 8950))
        #expect(plan.state.devices.count == 1)
        #expect(plan.state.addresses == ["weft.vxlan4": [prefix("10.244.1.0/32")]])
        let peerMAC = mac("0e:57:c0:a8:00:02")
        #expect(
            plan.state.fdb == [OverlayFDBEntry(device: "weft.vxlan4", mac: peerMAC, destination: ip("192.168.0.2"))])
        #expect(
            plan.state.neighbours == [OverlayNeighbour(device: "weft.vxlan4", address: ip("10.244.2.0"), mac: peerMAC)])
        #expect(
            plan.state.routes == [
                prefix("10.244.2.0/24"): OverlayRoute(
                    destination: prefix("10.244.2.0/24"), gateway: ip("10.244.2.0"), device: "weft.vxlan4",
                    onlink: true)
            ])
        #expect(plan.peers == ["b"])
    }

    @Test func vxlanIPv6UsesItsOwnDeviceAndOverhead() throws {
        let nodes = [
            network("a", podCIDRs: ["fd00:10:244:1::/64"], internalIPs: ["fd00:192::1"]),
            network("b", podCIDRs: ["fd00:10:244:2::/64"], internalIPs: ["fd00:192::2"]),
        ]
        let configuration = OverlayConfiguration(mode: .vxlan, vni: 42, port: 4789)
        let plan = OverlayPlan(nodeName: "a", configuration: configuration, nodes: nodes, underlayMTU: mtu)
        #expect(plan.state.devices.keys.sorted() == ["weft.vxlan6"])
        let device = try #require(plan.state.devices["weft.vxlan6"])
        #expect(device.mtu == 1430)
        #expect(device.vni == 42 && device.port == 4789 && device.local == ip("fd00:192::1"))
        #expect(device.mac == .vtep(underlay: ip("fd00:192::1")))
        #expect(plan.state.addresses["weft.vxlan6"] == [prefix("fd00:10:244:1::/128")])
        let route = try #require(plan.state.routes[prefix("fd00:10:244:2::/64")])
        #expect(route.gateway == ip("fd00:10:244:2::") && route.device == "weft.vxlan6" && route.onlink)
        #expect(
            plan.state.fdb == [
                OverlayFDBEntry(
                    device: "weft.vxlan6", mac: .vtep(underlay: ip("fd00:192::2")), destination: ip("fd00:192::2"))
            ])
    }

    @Test func vxlanDualStackHasOneDevicePerFamily() {
        let plan = OverlayPlan(nodeName: "b", configuration: vxlan, nodes: dualStackNodes(), underlayMTU: mtu)
        #expect(plan.state.devices.keys.sorted() == ["weft.vxlan4", "weft.vxlan6"])
        #expect(plan.state.devices["weft.vxlan4"]?.mtu == 1450)
        #expect(plan.state.devices["weft.vxlan6"]?.mtu == 1430)
        #expect(plan.state.routes.count == 4)
        #expect(plan.state.fdb.count == 4 && plan.state.neighbours.count == 4)
        #expect(plan.state.routes.values.allSatisfy { $0.destination.address == $0.gateway })
        #expect(plan.peers == ["a", "c"])
    }

    @Test func vxlanWithoutUnderlayInterfaceSkipsTheFamily() {
        let plan = OverlayPlan(nodeName: "a", configuration: vxlan, nodes: dualStackNodes(), underlayMTU: [.v4: 1500])
        #expect(plan.state.devices.keys.sorted() == ["weft.vxlan4"])
        #expect(plan.state.routes.keys.allSatisfy { $0.family == .v4 })
        #expect(
            plan.skipped == [
                .init(node: "a", family: .v6, reason: .underlayInterfaceNotFound(ip("fd00:192::1")))
            ])
    }

    @Test func nodesWithoutPodCIDROrAddressAreSkipped() {
        let nodes = [
            network("a", podCIDRs: ["10.244.1.0/24"], internalIPs: ["192.168.0.1"]),
            network("b", podCIDRs: [], internalIPs: ["192.168.0.2"]),
            network("c", podCIDRs: ["10.244.3.0/24"], internalIPs: []),
            network("d", podCIDRs: ["10.244.4.0/24"], internalIPs: ["192.168.0.4"]),
            network("e", podCIDRs: ["fd00:10:244:5::/64"], internalIPs: ["fd00:192::5"]),
        ]
        for configuration in [hostGW, vxlan] {
            let plan = OverlayPlan(nodeName: "a", configuration: configuration, nodes: nodes, underlayMTU: mtu)
            #expect(plan.state.routes.keys.sorted { $0.description < $1.description } == [prefix("10.244.4.0/24")])
            #expect(plan.peers == ["d"])
            #expect(
                plan.skipped == [
                    .init(node: "b", family: .v4, reason: .noPodCIDR),
                    .init(node: "c", family: .v4, reason: .noInternalIP),
                    .init(node: "e", family: .v4, reason: .noPodCIDR),
                    .init(node: "e", family: .v6, reason: .noLocalInternalIP),
                ])
        }
    }

    @Test func withoutItsOwnNodeNothingIsPlanned() {
        let plan = OverlayPlan(nodeName: "z", configuration: vxlan, nodes: dualStackNodes(), underlayMTU: mtu)
        #expect(plan.state == OverlayState())
        #expect(plan.peers.isEmpty)
        #expect(plan.skipped == [.init(node: "z", family: nil, reason: .localNodeMissing)])
    }

    @Test func overlappingPodCIDRsAreSkipped() {
        let nodes = [
            network("a", podCIDRs: ["10.244.1.0/24"], internalIPs: ["192.168.0.1"]),
            network("b", podCIDRs: ["10.244.1.128/25"], internalIPs: ["192.168.0.2"]),
            network("c", podCIDRs: ["10.244.2.0/24"], internalIPs: ["192.168.0.3"]),
            network("d", podCIDRs: ["10.244.0.0/16"], internalIPs: ["192.168.0.4"]),
            network("e", podCIDRs: ["10.244.3.0/24"], internalIPs: ["192.168.0.5"]),
        ]
        let plan = OverlayPlan(nodeName: "a", configuration: hostGW, nodes: nodes)
        #expect(plan.peers == ["c", "e"])
        #expect(
            plan.skipped == [
                .init(node: "b", family: .v4, reason: .overlapsLocalPodCIDR(prefix("10.244.1.0/24"))),
                .init(node: "d", family: .v4, reason: .overlapsLocalPodCIDR(prefix("10.244.1.0/24"))),
            ])
        let peerClash = OverlayPlan(nodeName: "c", configuration: hostGW, nodes: nodes)
        #expect(peerClash.peers == ["a", "e"])
        #expect(
            peerClash.skipped.contains(
                .init(node: "b", family: .v4, reason: .overlapsPeer("a", prefix("10.244.1.0/24")))))
    }

    @Test func thePlanDoesNotDependOnTheOrderOfNodes() {
        let nodes = dualStackNodes(["a", "b", "c", "d", "e"])
        let plan = OverlayPlan(nodeName: "c", configuration: vxlan, nodes: nodes, underlayMTU: mtu)
        for _ in 0..<5 {
            #expect(OverlayPlan(nodeName: "c", configuration: vxlan, nodes: nodes.shuffled(), underlayMTU: mtu) == plan)
        }
    }

    @Test func nodeNetworkReadsTheFieldsTheOverlayUses() {
        var node = kubeNode("n", podCIDRs: [], internalIPs: [])
        node.spec?.podCIDR = "10.1.2.3/24"
        node.status?.addresses = [
            NodeAddress(type: "Hostname", address: "n"), NodeAddress(type: "ExternalIP", address: "203.0.113.9"),
            NodeAddress(type: "InternalIP", address: "not-an-ip"), NodeAddress(type: "InternalIP", address: "10.0.0.1"),
            NodeAddress(type: "InternalIP", address: "10.0.0.2"), NodeAddress(type: "InternalIP", address: "fd00::1"),
        ]
        #expect(
            NodeNetwork(node)
                == NodeNetwork(
                    name: "n", podCIDRs: [.v4: prefix("10.1.2.0/24")],
                    internalIPs: [.v4: ip("10.0.0.1"), .v6: ip("fd00::1")]))
        node.spec?.podCIDRs = ["bad", "fd00:1::/64", "10.9.0.0/16", "fd00:2::/64"]
        #expect(NodeNetwork(node).podCIDRs == [.v4: prefix("10.9.0.0/16"), .v6: prefix("fd00:1::/64")])
    }

    @Test func vtepMACsAreLocalUnicastAndDistinct() {
        #expect(MACAddress.vtep(underlay: ip("10.1.2.3")) == mac("0e:57:0a:01:02:03"))
        let addresses = ["10.1.2.3", "10.1.2.4", "fd00:1::5", "fd00:2::5", "2001:db8::5", "fd00:1::6"].map(ip)
        let macs = addresses.map(MACAddress.vtep(underlay:))
        #expect(Set(macs).count == addresses.count)
        for m in macs {
            #expect(m.bytes[0] & 0x01 == 0, "unicast")
            #expect(m.bytes[0] & 0x02 != 0, "locally administered")
        }
        #expect(MACAddress.vtep(underlay: ip("fd00:1::5")) == MACAddress.vtep(underlay: ip("fd00:1::5")))
        // Neighbouring addresses differ in every hashed byte, not only in the low ones.
        let subnet = (0..<64).map { MACAddress.vtep(underlay: ip("fd00:1::\(String($0, radix: 16))")).bytes }
        for byte in 1..<6 { #expect(Set(subnet.map { $0[byte] }).count > 32, "byte \(byte)") }
    }
}
