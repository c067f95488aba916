import CNI
import NFTables
import NFTablesTesting
import Testing
import WeftNet

@Suite struct HostRulesTests {
    let record = AttachmentRecord(
        network: "n", containerID: "c1", ifname: "eth0", netns: "/run/netns/p", mode: .bridge, bridge: "weft0",
        hostVeth: "wf0123456789ab", ips: [IPPrefix("10.22.0.5/16")!, IPPrefix("fd22::5/64")!], masquerade: true,
        nonMasqueradeCIDRs: [],
        portMappings: [
            PortMapping(hostPort: 8080, containerPort: 80, protocol: "tcp"),
            PortMapping(hostPort: 5353, containerPort: 53, protocol: "udp", hostIP: "192.0.2.1"),
        ],
        containerMAC: "02:aa:bb:cc:dd:ee", macspoofchk: true, resultJSON: nil)

    func describe(_ elements: [Element]) -> [String] {
        elements.map { "\($0.set) \($0.key)" + ($0.value.map { " : \($0)" } ?? "") + " # \($0.comment ?? "")" }
    }

    @Test func networkElementsAreKeyedBySubnet() {
        #expect(
            describe(HostRules.networkElements(for: record)) == [
                "masq4 10.22.0.0/16 # n", "masq4-exempt 10.22.0.0/16 . 10.22.0.0/16 # n",
                "masq6 fd22::/64 # n", "masq6-exempt fd22::/64 . fd22::/64 # n",
            ])
    }

    /// The record's network with the cluster's pod networks exempt: a CIDR that contains the subnet stands for
    /// it, one inside another CIDR is left out, each family gets its own.
    var clusterRecord: AttachmentRecord {
        var r = record
        r.nonMasqueradeCIDRs = ["10.96.0.0/12", "10.0.0.0/8", "192.168.0.0/16", "fd00:10:244::/56", "192.0.2.7/32"]
            .map { IPPrefix($0)! }
        return r
    }

    @Test func nonMasqueradeCIDRsAreExemptFromEachSubnetOfTheirFamily() {
        #expect(
            describe(HostRules.networkElements(for: clusterRecord)) == [
                "masq4 10.22.0.0/16 # n",
                "masq4-exempt 10.22.0.0/16 . 10.0.0.0/8 # n",
                "masq4-exempt 10.22.0.0/16 . 192.0.2.7 # n",
                "masq4-exempt 10.22.0.0/16 . 192.168.0.0/16 # n",
                "masq6 fd22::/64 # n",
                "masq6-exempt fd22::/64 . fd00:10:244::/56 # n",
                "masq6-exempt fd22::/64 . fd22::/64 # n",
            ])
        var off = clusterRecord
        off.masquerade = false
        #expect(HostRules.networkElements(for: off).isEmpty)
    }

    @Test func recordsFromBeforeNonMasqueradeCIDRsStillLoad() throws {
        let saved = JSONCoding.encode(clusterRecord)
        #expect(try JSONCoding.decode(AttachmentRecord.self, from: saved, what: "record") == clusterRecord)
        var old = try JSONCoding.decode(JSONValue.self, from: saved, what: "record")
        old["nonMasqueradeCIDRs"] = nil
        let loaded = try JSONCoding.decode(AttachmentRecord.self, from: JSONCoding.encode(old), what: "record")
        #expect(loaded == record)
    }

    @Test func podElementsCarryTheOwnerTag() {
        #expect(
            describe(HostRules.podElements(for: record)) == [
                "hostport4-any tcp . 8080 : 10.22.0.5 . 80 # n/c1/eth0",
                "hostport6-any tcp . 8080 : fd22::5 . 80 # n/c1/eth0",
                "hostport4 192.0.2.1 . udp . 5353 : 10.22.0.5 . 53 # n/c1/eth0",
                "macspoof-ports \"wf0123456789ab\" # n/c1/eth0",
                "macspoof-allowed \"wf0123456789ab\" . 02:aa:bb:cc:dd:ee # n/c1/eth0",
            ])
    }

    @Test func addThenRemoveLeavesTheNetworkElementsOnly() throws {
        let fake = FakeNFTables()
        try fake.apply(HostRules.skeleton())
        let empty = fake.dump()
        try fake.apply(HostRules.addTransaction(record))
        #expect(fake.dump().contains("10.22.0.0/16 . 10.22.0.0/16"))
        #expect(fake.dump().contains("tcp . 8080"))
        // Applying twice is harmless (a retried ADD), and the static chains are not duplicated.
        try fake.apply(HostRules.addTransaction(record))
        try fake.apply(HostRules.removeTransaction([record]))
        let afterDel = fake.dump()
        #expect(!afterDel.contains("tcp . 8080") && !afterDel.contains("wf0123456789ab"))
        #expect(afterDel.contains("10.22.0.0/16 . 10.22.0.0/16"))
        // Removing again (a repeated DEL) still succeeds.
        try fake.apply(HostRules.removeTransaction([record]))
        #expect(fake.dump() == afterDel)
        // GC of a network without valid attachments takes its elements too.
        let stale = try HostRules.staleElements(in: fake, network: "n", networkInUse: false) { _, _ in false }
        try fake.apply(HostRules.removeElements(stale))
        #expect(fake.dump() == empty)
    }

    @Test func exemptionsStayAtDelAndGoAtGCLikeTheSubnet() throws {
        let fake = FakeNFTables()
        try fake.apply(HostRules.skeleton())
        let empty = fake.dump()
        try fake.apply(HostRules.addTransaction(clusterRecord))
        #expect(fake.dump().contains(#"masq4-exempt { 10.22.0.0/16 . 10.0.0.0/8 comment "n" }"#))
        try fake.apply(HostRules.removeTransaction([clusterRecord]))
        let afterDel = try fake.listElements(family: .inet, table: HostRules.table, set: "masq4-exempt")
        #expect(
            afterDel.map(\.key) == [
                "10.22.0.0/16 . 10.0.0.0/8", "10.22.0.0/16 . 192.0.2.7", "10.22.0.0/16 . 192.168.0.0/16",
            ])
        // GC while the network has valid attachments keeps them; without any, they go with the subnet.
        #expect(try HostRules.staleElements(in: fake, network: "n", networkInUse: true) { _, _ in false }.isEmpty)
        let stale = try HostRules.staleElements(in: fake, network: "n", networkInUse: false) { _, _ in false }
        #expect(stale.count == HostRules.networkElements(for: clusterRecord).count)
        try fake.apply(HostRules.removeElements(stale))
        #expect(fake.dump() == empty)
    }

    @Test func anOlderSubnetIsReplacedWithItsExemptions() throws {
        let fake = FakeNFTables()
        var other = clusterRecord
        other.network = "m"
        other.ips = [IPPrefix("10.23.0.5/16")!]
        other.portMappings = []
        try fake.apply(HostRules.addTransaction(clusterRecord))
        try fake.apply(HostRules.addTransaction(other))
        // The same network on a narrower subnet: all of the old subnet's elements are its own, to be replaced.
        var moved = clusterRecord
        moved.containerID = "c2"
        moved.ips = [IPPrefix("10.22.1.5/24")!]
        moved.portMappings = []
        let (own, foreign) = try HostRules.overlappingNetworkElements(in: fake, for: moved)
        #expect(
            describe(own) == [
                "masq4 10.22.0.0/16 # n",
                "masq4-exempt 10.22.0.0/16 . 10.0.0.0/8 # n",
                "masq4-exempt 10.22.0.0/16 . 192.0.2.7 # n",
                "masq4-exempt 10.22.0.0/16 . 192.168.0.0/16 # n",
            ])
        #expect(foreign.isEmpty)
        try fake.apply(HostRules.removeElements(own, skeleton: false))
        try fake.apply(HostRules.addTransaction(moved, skeleton: false))
        let left = try fake.listElements(family: .inet, table: HostRules.table, set: "masq4-exempt")
        #expect(
            describe(left) == [
                "masq4-exempt 10.22.1.0/24 . 10.0.0.0/8 # n",
                "masq4-exempt 10.22.1.0/24 . 192.0.2.7 # n",
                "masq4-exempt 10.22.1.0/24 . 192.168.0.0/16 # n",
                "masq4-exempt 10.23.0.0/16 . 10.0.0.0/8 # m",
                "masq4-exempt 10.23.0.0/16 . 192.0.2.7 # m",
                "masq4-exempt 10.23.0.0/16 . 192.168.0.0/16 # m",
            ])
        // Another network's subnet overlapping it is a conflict, not an element to replace.
        var clash = other
        clash.network = "k"
        clash.ips = [IPPrefix("10.23.5.5/24")!]
        #expect(try HostRules.overlappingNetworkElements(in: fake, for: clash).foreign.count == 4)
    }

    @Test func changedNonMasqueradeCIDRsReplaceTheNetworksExemptions() throws {
        // A pod network's first subnet: `10.244.0.0/24 . 10.244.0.0/16` starts inside the subnet's own exemption,
        // which the kernel refuses (`File exists`); the own exemption is then replaced, while those of the
        // network the CIDRs still want are kept.
        let fake = FakeNFTables()
        var before = record
        before.ips = [IPPrefix("10.244.0.2/24")!]
        before.nonMasqueradeCIDRs = [IPPrefix("192.168.0.0/16")!]
        try fake.apply(HostRules.addTransaction(before))
        var after = before
        after.nonMasqueradeCIDRs = [IPPrefix("10.244.0.0/16")!, IPPrefix("192.168.0.0/16")!]
        #expect(
            describe(HostRules.networkElements(for: after)) == [
                "masq4 10.244.0.0/24 # n",
                "masq4-exempt 10.244.0.0/24 . 10.244.0.0/16 # n",
                "masq4-exempt 10.244.0.0/24 . 192.168.0.0/16 # n",
            ])
        let (own, foreign) = try HostRules.overlappingNetworkElements(in: fake, for: after)
        #expect(describe(own) == ["masq4-exempt 10.244.0.0/24 . 10.244.0.0/24 # n"])
        #expect(foreign.isEmpty)
        try fake.apply(HostRules.removeElements(own, skeleton: false))
        try fake.apply(HostRules.addTransaction(after, skeleton: false))
        let exempt = try fake.listElements(family: .inet, table: HostRules.table, set: "masq4-exempt")
        #expect(exempt == HostRules.networkElements(for: after).filter { $0.set == "masq4-exempt" })
        // And back: the subnet's own exemption replaces the CIDR that contained it.
        #expect(
            describe(try HostRules.overlappingNetworkElements(in: fake, for: before).own) == [
                "masq4-exempt 10.244.0.0/24 . 10.244.0.0/16 # n"
            ])
    }

    @Test func elementsAloneUnlessTheSkeletonIsMissing() throws {
        let fake = FakeNFTables()
        // Empty ruleset: the elements-only attempt fails (not found), the second attempt brings the skeleton.
        try HostRules.apply(fake) { HostRules.addTransaction(record, skeleton: $0) }
        #expect(fake.applyCount == 1)
        #expect(fake.dump().contains("masquerade"))
        var other = record
        other.containerID = "c2"
        other.ips = [IPPrefix("10.22.0.6/16")!]
        other.portMappings = []
        other.hostVeth = "wf2"
        // Now the skeleton exists: one transaction of elements alone.
        try HostRules.apply(fake) { HostRules.addTransaction(other, skeleton: $0) }
        #expect(fake.applyCount == 2)
        try HostRules.apply(fake) { HostRules.removeTransaction([record, other], skeleton: $0) }
        try HostRules.apply(fake) { HostRules.removeTransaction([record, other], skeleton: $0) }
        #expect(fake.applyCount == 4)
        #expect(try HostRules.staleElements(in: fake, network: "n", networkInUse: true) { _, _ in false }.isEmpty)
    }

    @Test func staleElementsAreFoundByTheirOwnerTag() throws {
        let fake = FakeNFTables()
        var other = record
        other.network = "m"
        other.ips = [IPPrefix("10.23.0.5/16")!]
        other.portMappings = [PortMapping(hostPort: 9090, containerPort: 80)]
        other.hostVeth = "wfother"
        try fake.apply(HostRules.addTransaction(record))
        try fake.apply(HostRules.addTransaction(other))
        #expect(try HostRules.staleElements(in: fake, network: "n", networkInUse: true) { id, _ in id == "c1" }.isEmpty)
        let stale = try HostRules.staleElements(in: fake, network: "n", networkInUse: true) { _, _ in false }
        #expect(stale.count == HostRules.podElements(for: record).count)
        #expect(stale.allSatisfy { $0.comment == "n/c1/eth0" })
        try fake.apply(HostRules.removeElements(stale))
        // Network m's elements are untouched.
        let m = try HostRules.staleElements(in: fake, network: "m", networkInUse: false) { _, _ in false }
        #expect(m.count == HostRules.podElements(for: other).count + HostRules.networkElements(for: other).count)
    }

    @Test func noRulesWhenNothingAsksForThem() {
        var r = record
        r.masquerade = false
        r.portMappings = []
        r.macspoofchk = false
        #expect(!HostRules.needsRules(r))
    }
}
