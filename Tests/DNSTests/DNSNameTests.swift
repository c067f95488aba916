import Testing

@testable import DNS

struct DNSNameTests {
    @Test func parsesComparesWithoutCaseAndKeepsItsSpelling() throws {
        let name = try #require(DNSName("My-Svc.Default.svc.Cluster.Local"))
        #expect(name.description == "My-Svc.Default.svc.Cluster.Local.")
        #expect(name == DNSName("my-svc.default.svc.cluster.local."))
        #expect(Set([name, DNSName("MY-SVC.DEFAULT.SVC.CLUSTER.LOCAL")!]).count == 1)
        let zone = try #require(DNSName("cluster.local"))
        #expect(name.isSubdomain(of: zone) && !zone.isSubdomain(of: name))
        #expect(name.labels(below: zone)?.map { String(decoding: $0, as: UTF8.self) } == ["My-Svc", "Default", "svc"])
        #expect(DNSName(".") == .root && DNSName.root.description == "." && DNSName.root.wireLength == 1)
        #expect(name.wireLength == 34)
    }

    @Test func refusesEmptyAndOverlongLabelsAndNames() {
        #expect(DNSName("a..b") == nil)
        #expect(DNSName(String(repeating: "x", count: 64) + ".com") == nil)
        #expect(DNSName(String(repeating: "x", count: 63) + ".com") != nil)
        let long = Array(repeating: String(repeating: "x", count: 63), count: 4).joined(separator: ".")
        #expect(DNSName(long) == nil, "4 × 64 + 1 = 257 bytes on the wire")
    }
}
