import Lab
import Testing
import WeftNet

@Suite struct LabTopologyTests {
    @Test func namesAndAddressesFollowFromNameAndIndex() throws {
        let lab = try LabTopology(name: "weft", index: 3, nodeCount: 3)
        #expect(lab.rootNamespace == "weft-weft")
        #expect(lab.hostLink == "wl3h")
        #expect(lab.underlayIPv4.description == "198.18.3.0/24")
        #expect(lab.underlayIPv6.description == "fd77:6566:74:3::/64")
        #expect(lab.hostAddresses.v4.description == "198.18.3.1")
        #expect(lab.hostAddresses.v6.description == "fd77:6566:74:3::1")
        #expect(lab.nodes.map(\.name) == ["node-1", "node-2", "node-3"])
        #expect(lab.nodes.map(\.namespace) == ["weft-weft.node-1", "weft-weft.node-2", "weft-weft.node-3"])
        #expect(lab.node(2).addresses.v4.description == "198.18.3.11")
        #expect(lab.node(2).addresses.v6.description == "fd77:6566:74:3::b")
        #expect(lab.client.namespace == "weft-weft.client")
        #expect(lab.client.addresses.v4.description == "198.18.3.250")
        // Every namespace of the lab starts with its prefix, the root aside; no other lab's does.
        #expect((lab.nodes + [lab.client]).allSatisfy { $0.namespace.hasPrefix(lab.namespacePrefix) })
        let other = try LabTopology(name: "weft-b", index: 4, nodeCount: 1)
        let others = [other.rootNamespace] + (other.nodes + [other.client]).map(\.namespace)
        #expect(others.allSatisfy { !$0.hasPrefix(lab.namespacePrefix) && $0 != lab.rootNamespace })
        #expect(lab.stateDirectory == "/run/weft/lab/weft" && lab.dataDirectory == "/var/lib/weft/lab/weft")
    }

    @Test func largestLabFitsInterfaceNamesAndRanges() throws {
        let lab = try LabTopology(name: "abcdefghijkl", index: LabTopology.maximumIndex, nodeCount: 200)
        #expect(lab.hostLink.utf8.count <= 15)
        #expect(lab.underlayIPv6.description == "fd77:6566:74:fd::/64")
        let last = lab.node(200)
        #expect(lab.underlayIPv4.contains(last.addresses.v4) && lab.underlayIPv6.contains(last.addresses.v6))
        #expect(last.addresses.v4.description == "198.18.253.209")
        let all = lab.nodes.map(\.addresses.v4) + [lab.client.addresses.v4, lab.hostAddresses.v4]
        #expect(Set(all.map(\.description)).count == all.count, "no two hosts share an address")
    }

    @Test(arguments: ["", "Weft", "-a", "a-", "a_b", "abcdefghijklm", "a.b", "ä"])
    func rejectsBadNames(name: String) {
        #expect(throws: LabError.invalidName(name)) { try LabTopology(name: name, index: 0, nodeCount: 1) }
    }

    @Test func rejectsBadCountsAndIndexes() {
        #expect(throws: LabError.invalidNodeCount(0)) { try LabTopology(name: "a", index: 0, nodeCount: 0) }
        #expect(throws: LabError.invalidNodeCount(201)) { try LabTopology(name: "a", index: 0, nodeCount: 201) }
        #expect(throws: LabError.invalidIndex(254)) { try LabTopology(name: "a", index: 254, nodeCount: 1) }
        #expect(LabTopology.freeIndex(taken: [0, 1, 3]) == 2)
        #expect(LabTopology.freeIndex(taken: Set(0...LabTopology.maximumIndex)) == nil)
    }
}
