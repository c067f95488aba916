import Glibc
import Netlink
import Testing
import WeftNet

@Suite(.enabled(if: isRoot, "needs root"))
struct LinkTests {
    @Test func vethPeerCreatedInOtherNamespace() throws {
        try withNamespaces(2) { n in
            let (node, pod) = (n[0], n[1])
            let hostName = "wft" + randomSuffix()
            // Push the host end to index 3 so that it differs from eth0's (2); the same-index case is below.
            try node.socket.addBridge(name: "wftbr" + randomSuffix(4))
            let mac = MACAddress("02:aa:bb:cc:dd:01")!
            let peerMAC = MACAddress("02:aa:bb:cc:dd:02")!
            try node.socket.addVeth(
                name: hostName, peerName: "eth0", peerNetNS: pod.ns, mtu: 1400, mac: mac, peerMAC: peerMAC)

            let host = try node.link(hostName)
            #expect(host.kind == "veth")
            #expect(host.mtu == 1400)
            #expect(host.mac == mac)
            #expect(!host.isUp)
            #expect(host.linkNetNSID != nil)
            // The peer is not in the node namespace.
            #expect(try node.socket.link(named: "eth0") == nil)

            let eth0 = try pod.link("eth0")
            #expect(eth0.kind == "veth")
            #expect(eth0.mtu == 1400)
            #expect(eth0.mac == peerMAC)
            #expect(host.peerIndex == eth0.index)
            #expect(eth0.peerIndex == host.index)
            #expect(try pod.socket.link(index: eth0.index) == eth0)
            #expect(try pod.socket.links().contains(eth0))

            // Cross-check with iproute2.
            let json = try runJSON(["ip", "-n", pod.name, "-j", "link", "show", "eth0"])
            #expect(json.first?["address"] as? String == peerMAC.description)
            #expect(json.first?["mtu"] as? Int == 1400)

            // Deleting one end removes both.
            try node.socket.deleteLink(index: host.index)
            #expect(try node.socket.link(named: hostName) == nil)
            #expect(try pod.socket.link(named: "eth0") == nil)
        }
    }

    /// Two macvlans in bridge mode on one bridge, each created straight into its own namespace, reach each other.
    @Test func macvlanBridgeCreatedInOtherNamespaces() throws {
        try withNamespaces(3) { n in
            let (switchNS, a, b) = (n[0], n[1], n[2])
            let bridge = "wftbr" + randomSuffix(4)
            try switchNS.socket.addBridge(name: bridge)
            let parent = try switchNS.link(bridge)
            try switchNS.socket.setUp(index: parent.index)
            for (i, side) in [a, b].enumerated() {
                try switchNS.socket.addMacvlanBridge(name: "eth0", parentIndex: parent.index, netns: side.ns)
                let eth0 = try side.link("eth0")
                #expect(eth0.kind == "macvlan")
                try side.socket.addAddress(index: eth0.index, prefix: IPPrefix("10.77.0.\(i + 1)/24")!)
                try side.socket.setUp(index: eth0.index)
            }
            #expect(try switchNS.socket.link(named: "eth0") == nil)
            let json = try runJSON(["ip", "-n", a.name, "-d", "-j", "link", "show", "eth0"])
            let info = json.first?["linkinfo"] as? [String: Any]
            #expect((info?["info_data"] as? [String: Any])?["mode"] as? String == "bridge")
            let ping = try runJSON(["ip", "-n", a.name, "-j", "route", "get", "10.77.0.2"])
            #expect(ping.first?["dev"] as? String == "eth0")
            #expect(system("ip netns exec \(a.name) ping -c 1 -W 2 10.77.0.2 >/dev/null") == 0)
        }
    }

    @Test func vethPeerWithTheSameIndex() throws {
        try withNamespaces(2) { n in
            let hostName = "wft" + randomSuffix()
            try n[0].socket.addVeth(name: hostName, peerName: "eth0", peerNetNS: n[1].ns)
            let host = try n[0].link(hostName)
            let eth0 = try n[1].link("eth0")
            #expect(host.index == eth0.index)
            #expect(host.peerIndex == eth0.index)
            #expect(eth0.peerIndex == host.index)
        }
    }

    @Test func bridgeEnslaveAndChange() throws {
        try withNamespaces(2) { n in
            let (node, pod) = (n[0], n[1])
            let s = node.socket
            let bridgeName = "wftbr" + randomSuffix(4)
            let vethName = "wft" + randomSuffix()
            try s.addBridge(name: bridgeName, mtu: 1450, mac: MACAddress("02:00:00:00:00:aa"))
            try s.addVeth(name: vethName, peerName: "eth0", peerNetNS: pod.ns, mtu: nil, mac: nil, peerMAC: nil)
            let bridge = try node.link(bridgeName)
            #expect(bridge.kind == "bridge")
            #expect(bridge.bridgeVLANFiltering == false)
            #expect(bridge.mac == MACAddress("02:00:00:00:00:aa"))
            var veth = try node.link(vethName)

            try s.setMTU(index: veth.index, mtu: 1450)
            try s.setMaster(index: veth.index, master: bridge.index)
            try s.setUp(index: veth.index)
            try s.setUp(index: bridge.index)
            veth = try node.link(vethName)
            #expect(veth.masterIndex == bridge.index)
            #expect(veth.slaveKind == "bridge")
            #expect(veth.mtu == 1450)
            #expect(veth.isUp)
            #expect(try node.link(bridgeName).isUp)

            // Hairpin mode on the port, checked with iproute2 too.
            #expect(veth.bridgePortHairpin == false)
            try s.setBridgePortHairpin(index: veth.index, on: true)
            #expect(try node.link(vethName).bridgePortHairpin == true)
            let detail = try runJSON(["ip", "-n", node.name, "-d", "-j", "link", "show", vethName])
            let slave = (detail.first?["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any]
            #expect(slave?["hairpin"] as? Bool == true)

            // Promiscuous mode.
            try s.setPromiscuous(index: veth.index, on: true)
            #expect(try node.link(vethName).isPromiscuous)
            try s.setPromiscuous(index: veth.index, on: false)
            #expect(try !node.link(vethName).isPromiscuous)

            // MAC, down, rename (a link must be down to be renamed), nomaster.
            let newMAC = MACAddress("02:11:22:33:44:55")!
            try s.setMAC(index: veth.index, mac: newMAC)
            try s.setDown(index: veth.index)
            let renamed = "wft" + randomSuffix()
            try s.rename(index: veth.index, to: renamed)
            #expect(try s.link(named: vethName) == nil)
            veth = try node.link(renamed)
            #expect(veth.mac == newMAC)
            #expect(!veth.isUp)
            try s.setMaster(index: veth.index, master: nil)
            #expect(try node.link(renamed).masterIndex == nil)
        }
    }

    @Test func bridgeVLANs() throws {
        try withNamespaces(2) { n in
            let (node, pod) = (n[0], n[1])
            let s = node.socket
            let bridgeName = "wftbr" + randomSuffix(4)
            let vethName = "wft" + randomSuffix()
            try s.addBridge(name: bridgeName, mtu: nil, mac: nil, vlanFiltering: false)
            try s.addVeth(name: vethName, peerName: "eth0", peerNetNS: pod.ns, mtu: nil, mac: nil, peerMAC: nil)
            let bridge = try node.link(bridgeName)
            let veth = try node.link(vethName)
            try s.setMaster(index: veth.index, master: bridge.index)

            do {
                try s.setBridgeVLANFiltering(index: bridge.index, on: true)
            } catch let error as NetlinkError where error.errno == EOPNOTSUPP {
                // Kernel built without CONFIG_BRIDGE_VLAN_FILTERING (as on the development machines): the errors
                // must still say so, rather than EINVAL for a malformed request.
                #expect(error.operation.contains("vlan_filtering 1"))
                let vlanError = try #require(throws: NetlinkError.self) {
                    try s.addBridgeVLAN(index: veth.index, vid: 100, pvid: true, untagged: true, onSelf: false)
                }
                #expect(vlanError.errno == EOPNOTSUPP)
                #expect(vlanError.operation == "RTM_SETLINK bridge vlan add ifindex \(veth.index) vid 100")
                #expect(try s.bridgeVLANs(index: veth.index).isEmpty)
                return
            }
            #expect(try node.link(bridgeName).bridgeVLANFiltering == true)

            try s.addBridgeVLAN(index: veth.index, vid: 100, pvid: true, untagged: true, onSelf: false)
            try s.addBridgeVLAN(index: veth.index, vid: 200, pvid: false, untagged: false, onSelf: false)
            try s.addBridgeVLAN(index: bridge.index, vid: 100, pvid: false, untagged: false, onSelf: true)
            let vlans = try s.bridgeVLANs(index: veth.index)
            #expect(vlans.contains(BridgeVLAN(vid: 100, pvid: true, untagged: true)))
            #expect(vlans.contains(BridgeVLAN(vid: 200, pvid: false, untagged: false)))
            // The default VLAN 1 lost its pvid to 100.
            #expect(!vlans.contains { $0.vid == 1 && $0.pvid })
            #expect(try s.bridgeVLANs(index: bridge.index).contains { $0.vid == 100 })

            // Cross-check with `bridge -j vlan show`.
            let text = try run(["ip", "netns", "exec", node.name, "bridge", "-j", "vlan", "show", "dev", vethName])
            #expect(text.contains("\"vlan\":100") && text.contains("\"vlan\":200"))

            try s.deleteBridgeVLAN(index: veth.index, vid: 200)
            #expect(try !s.bridgeVLANs(index: veth.index).contains { $0.vid == 200 })

            try s.setBridgeVLANFiltering(index: bridge.index, on: false)
            #expect(try node.link(bridgeName).bridgeVLANFiltering == false)
        }
    }

    @Test func moveToNetNS() throws {
        try withNamespaces(2) { n in
            let name = "wft" + randomSuffix()
            let peer = "wft" + randomSuffix()
            try n[0].socket.addVeth(name: name, peerName: peer, peerNetNS: nil, mtu: nil, mac: nil, peerMAC: nil)
            #expect(try n[0].link(peer).peerIndex == n[0].link(name).index)
            #expect(try n[0].link(peer).linkNetNSID == nil)
            try n[0].socket.moveToNetNS(index: try n[0].link(peer).index, netns: n[1].ns)
            #expect(try n[0].socket.link(named: peer) == nil)
            let moved = try n[1].link(peer)
            #expect(moved.kind == "veth")
            #expect(moved.linkNetNSID != nil)

            // A bridge cannot change namespace; the kernel says why.
            let bridge = "wftbr" + randomSuffix(4)
            try n[0].socket.addBridge(name: bridge, mtu: nil, mac: nil, vlanFiltering: false)
            let error = try #require(throws: NetlinkError.self) {
                try n[0].socket.moveToNetNS(index: try n[0].link(bridge).index, netns: n[1].ns)
            }
            #expect(error.errno == EINVAL)
            #expect(error.kernelMessage?.contains("netns") == true)
        }
    }

    @Test func vxlan() throws {
        try withNamespaces(1) { n in
            let s = n[0].socket
            let underlay = "wftbr" + randomSuffix(4)
            try s.addBridge(name: underlay, mtu: nil, mac: nil, vlanFiltering: false)
            let underlayLink = try n[0].link(underlay)
            try s.addAddress(index: underlayLink.index, prefix: IPPrefix("192.168.77.1/24")!)
            try s.setUp(index: underlayLink.index)
            let name = "wftvx" + randomSuffix(4)
            try s.addVXLAN(
                name: name, vni: 4242, local: IPAddress("192.168.77.1"), port: 8472, underlayIndex: underlayLink.index,
                learning: false, mtu: 1450)
            let link = try n[0].link(name)
            #expect(link.kind == "vxlan")
            #expect(link.vxlanID == 4242)
            #expect(link.mtu == 1450)

            let json = try runJSON(["ip", "-n", n[0].name, "-d", "-j", "link", "show", name])
            let data = (json.first?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(data?["id"] as? Int == 4242)
            #expect(data?["port"] as? Int == 8472)
            #expect(data?["local"] as? String == "192.168.77.1")
            #expect(data?["learning"] as? Bool == false)
            #expect(data?["link"] as? String == underlay)

            let v6 = "wftvx" + randomSuffix(4)
            try s.addVXLAN(
                name: v6, vni: 7, local: IPAddress("fd00::1"), port: 4789, underlayIndex: nil,
                learning: true, mtu: nil)
            let v6json = try runJSON(["ip", "-n", n[0].name, "-d", "-j", "link", "show", v6])
            let v6data = (v6json.first?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(v6data?["local6"] as? String == "fd00::1")
            #expect(v6data?["learning"] as? Bool == true)
        }
    }

    @Test func errorsCarryErrnoAndOperation() throws {
        try withNamespaces(2) { n in
            let s = n[0].socket
            let name = "wft" + randomSuffix()
            try s.addVeth(name: name, peerName: "eth0", peerNetNS: n[1].ns, mtu: nil, mac: nil, peerMAC: nil)

            let exists = try #require(throws: NetlinkError.self) {
                try s.addVeth(name: name, peerName: "eth1", peerNetNS: n[1].ns, mtu: nil, mac: nil, peerMAC: nil)
            }
            #expect(exists.errno == EEXIST)
            #expect(exists.operation.hasPrefix("RTM_NEWLINK veth \(name)"))
            #expect(exists.description.contains("File exists"))

            // The peer name is taken in the pod namespace.
            let peerTaken = try #require(throws: NetlinkError.self) {
                try s.addVeth(
                    name: "wft" + randomSuffix(), peerName: "eth0", peerNetNS: n[1].ns, mtu: nil, mac: nil,
                    peerMAC: nil)
            }
            #expect(peerTaken.errno == EEXIST)

            #expect(try s.link(named: "wft-nope" + randomSuffix(4)) == nil)
            #expect(try s.link(index: 99_999) == nil)
            let missing = try #require(throws: NetlinkError.self) { try s.deleteLink(index: 99_999) }
            #expect(missing.errno == ENODEV)
            #expect(missing.operation == "RTM_DELLINK ifindex 99999")

            // The kernel's extended-ack text comes along when it sends one.
            let tooLong = try #require(throws: NetlinkError.self) {
                try s.addBridge(name: "wft-name-much-too-long", mtu: nil, mac: nil, vlanFiltering: false)
            }
            #expect(tooLong.errno == ERANGE || tooLong.errno == EINVAL)
            #expect(tooLong.kernelMessage != nil)
        }
    }

    @Test func dumpsSpanManyDatagrams() throws {
        try withNamespaces(1) { n in
            let s = n[0].socket
            let names = (0..<150).map { "wftd\($0)x" + randomSuffix(3) }
            for name in names { try s.addBridge(name: name) }
            let links = try s.links()
            #expect(links.count == 151)
            #expect(Set(links.map(\.name)) == Set(names + ["lo"]))
            // Bridges with IPv6 on lo up give a dump of a few hundred addresses too.
            try n[0].loopbackUp()
            for (i, link) in links.enumerated() where link.name != "lo" {
                try s.addAddress(index: link.index, prefix: IPPrefix("10.50.\(i).1/24")!)
            }
            #expect(try s.addresses(family: .v4).count == 151)  // plus 127.0.0.1
        }
    }

    @Test func concurrentUseOfOneSocket() async throws {
        // Eight tasks share one socket; every dump must see exactly the namespace's six links.
        let fixture = try TestNetNS()
        defer { fixture.destroy() }
        for i in 0..<5 { try fixture.socket.addBridge(name: "wftc\(i)" + randomSuffix(3)) }
        let socket = fixture.socket
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var total = 0
                    for _ in 0..<25 { total += try socket.links().count }
                    return total
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts == Array(repeating: 25 * 6, count: 8))
    }
}
