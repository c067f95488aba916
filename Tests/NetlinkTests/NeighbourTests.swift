import Glibc
import Netlink
import Testing
import WeftNet

@Suite(.enabled(if: isRoot, "needs root"))
struct NeighbourTests {
    @Test func addListReplaceDelete() throws {
        try withNamespaces(1) { n in
            let s = n[0].socket
            let bridgeName = "wftbr" + randomSuffix(4)
            try s.addBridge(name: bridgeName)
            let bridge = try n[0].link(bridgeName)
            try s.setUp(index: bridge.index)
            let mac = MACAddress("02:00:00:00:10:01")!
            let v4 = Neighbour(index: bridge.index, address: IPAddress("10.40.0.9")!, mac: mac)
            let v6 = Neighbour(index: bridge.index, address: IPAddress("fd00:40::9")!, mac: mac)
            try s.addNeighbour(v4, replace: false)
            try s.addNeighbour(v6, replace: false)
            #expect(try s.neighbours(index: bridge.index).contains(v4))
            #expect(
                try s.neighbours(index: bridge.index, family: .v6).filter { $0.state == Neighbour.permanent } == [v6])
            #expect(try !s.neighbours(family: .v4).contains(v6))

            let text = try run(["ip", "-n", n[0].name, "neigh", "show", "dev", bridgeName])
            #expect(text.contains("10.40.0.9 lladdr 02:00:00:00:10:01 PERMANENT"))

            let exists = try #require(throws: NetlinkError.self) { try s.addNeighbour(v4, replace: false) }
            #expect(exists.errno == EEXIST)
            var changed = v4
            changed.mac = MACAddress("02:00:00:00:10:02")
            try s.addNeighbour(changed, replace: true)
            // Once the bridge is up the kernel adds NOARP entries for multicast groups (IGMP/MLD); compare only
            // the permanent entries this test made.
            func permanent(_ family: IPFamily? = nil) throws -> [Neighbour] {
                try s.neighbours(index: bridge.index, family: family).filter { $0.state & Neighbour.permanent != 0 }
            }
            #expect(try permanent(.v4) == [changed])

            try s.deleteNeighbour(changed)
            try s.deleteNeighbour(v6)
            #expect(try permanent().isEmpty)
            let missing = try #require(throws: NetlinkError.self) { try s.deleteNeighbour(v6) }
            #expect(missing.errno == ENOENT)
        }
    }

    @Test func bridgeFDB() throws {
        try withNamespaces(2) { n in
            let s = n[0].socket
            let bridgeName = "wftbr" + randomSuffix(4)
            let vethName = "wft" + randomSuffix()
            try s.addBridge(name: bridgeName)
            try s.addVeth(name: vethName, peerName: "eth0", peerNetNS: n[1].ns)
            let bridge = try n[0].link(bridgeName)
            let veth = try n[0].link(vethName)
            try s.setMaster(index: veth.index, master: bridge.index)

            let entry = FDBEntry(
                index: veth.index, mac: MACAddress("02:00:00:00:20:01")!, isSelf: false, permanent: false)
            try s.addFDB(entry, replace: false)
            #expect(try s.fdb(index: veth.index).contains(entry))
            let text = try run(["ip", "netns", "exec", n[0].name, "bridge", "fdb", "show", "dev", vethName])
            #expect(text.contains("02:00:00:00:20:01 master \(bridgeName) static"))

            let exists = try #require(throws: NetlinkError.self) { try s.addFDB(entry, replace: false) }
            #expect(exists.errno == EEXIST)
            #expect(exists.operation.hasPrefix("RTM_NEWNEIGH fdb 02:00:00:00:20:01"))
            try s.addFDB(entry, replace: true)

            try s.deleteFDB(entry)
            #expect(try !s.fdb(index: veth.index).contains(entry))
            let missing = try #require(throws: NetlinkError.self) { try s.deleteFDB(entry) }
            #expect(missing.errno == ENOENT)
        }
    }

    @Test func vxlanFDB() throws {
        try withNamespaces(1) { n in
            let s = n[0].socket
            let name = "wftvx" + randomSuffix(4)
            try s.addVXLAN(
                name: name, vni: 99, local: IPAddress("192.168.90.1"), port: 4789, underlayIndex: nil,
                learning: false, mtu: nil)
            let vx = try n[0].link(name)
            let remote = FDBEntry(
                index: vx.index, mac: MACAddress("02:00:00:00:30:01")!, destination: IPAddress("192.168.90.2"),
                isSelf: true, permanent: true)
            try s.addFDB(remote, replace: false)
            // Flooding to two remote VTEPs through the all-zeros entry.
            let zero = MACAddress(bytes: [0, 0, 0, 0, 0, 0])!
            let floodA = FDBEntry(
                index: vx.index, mac: zero, destination: IPAddress("192.168.90.2"), isSelf: true,
                permanent: true)
            var floodB = floodA
            floodB.destination = IPAddress("192.168.90.3")
            try s.appendFDB(floodA)
            try s.appendFDB(floodB)

            let entries = try s.fdb(index: vx.index)
            #expect(entries.contains(remote))
            #expect(entries.contains(floodA))
            #expect(entries.contains(floodB))
            let text = try run(["ip", "netns", "exec", n[0].name, "bridge", "fdb", "show", "dev", name])
            #expect(text.contains("02:00:00:00:30:01 dst 192.168.90.2 self permanent"))
            #expect(text.contains("00:00:00:00:00:00 dst 192.168.90.3 self permanent"))

            // Moving a MAC to another VTEP.
            var moved = remote
            moved.destination = IPAddress("192.168.90.4")
            try s.addFDB(moved, replace: true)
            #expect(try s.fdb(index: vx.index).filter { $0.mac == remote.mac } == [moved])

            try s.deleteFDB(floodA)
            #expect(try s.fdb(index: vx.index).filter { $0.mac == zero } == [floodB])
            try s.deleteFDB(moved)
            try s.deleteFDB(floodB)
            #expect(try s.fdb(index: vx.index).isEmpty)
        }
    }
}
