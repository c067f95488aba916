import KubeModel
import NFTables
import NFTablesTesting
import Testing
import WeftNet

@testable import ServiceProxy

/// Full syncs first and after failures, partial syncs of the changed services otherwise, against the fake.
struct ProxySyncerTests {
    static func service(_ name: String, _ clusterIP: String) throws -> Service {
        try Manifest.decode(
            try #require(
                try Manifest.decodeDocuments(
                    """
                    apiVersion: v1
                    kind: Service
                    metadata: {name: \(name), namespace: n}
                    spec: {clusterIP: \(clusterIP), ports: [{port: 80}]}
                    """
                ).first))
    }

    static func slice(_ service: String, _ addresses: [String]) throws -> EndpointSlice {
        let endpoints = addresses.map { "{addresses: [\($0)]}" }.joined(separator: ", ")
        return try Manifest.decode(
            try #require(
                try Manifest.decodeDocuments(
                    """
                    apiVersion: discovery.k8s.io/v1
                    kind: EndpointSlice
                    metadata: {name: \(service)-1, namespace: n, labels: {kubernetes.io/service-name: \(service)}}
                    addressType: IPv4
                    ports: [{port: 8080}]
                    endpoints: [\(endpoints)]
                    """
                ).first))
    }

    static func backends(_ fake: FakeNFTables) throws -> [String] {
        try fake.listElements(family: .inet, table: ProxyRuleset.table, set: "backends4-16").compactMap(\.value)
    }

    @Test func fullThenPartialThenFullAfterAFailure() async throws {
        let fake = FakeNFTables()
        let syncer = ProxySyncer(
            node: ProxyNode(name: "node-1"), clusterCIDRs: [IPPrefix("10.244.0.0/16")!], backend: fake)
        await syncer.set(try Self.service("a", "10.96.0.1"))
        await syncer.set(try Self.slice("a", ["10.244.0.5", "10.244.1.5"]))
        await syncer.set(try Self.service("b", "10.96.0.2"))
        let first = try await syncer.sync()
        #expect(first.full && first.services == 2)
        #expect(Set(try Self.backends(fake)) == ["10.244.0.5 . 8080", "10.244.1.5 . 8080"])
        #expect(
            try fake.listElements(family: .inet, table: ProxyRuleset.table, set: "no-endpoints4").map(\.key) == [
                "10.96.0.2 . tcp . 80"
            ])

        #expect(await !syncer.hasChanges)
        #expect(try await syncer.sync().operations == 0, "nothing changed, nothing applied")

        await syncer.set(try Self.slice("b", ["10.244.2.5"]))
        let partial = try await syncer.sync()
        #expect(!partial.full && partial.services == 1)
        #expect(partial.operations == 16 + 1 + 1 + 1, "16 buckets, its frontend, a hairpin entry, no-endpoints gone")
        #expect(try fake.listElements(family: .inet, table: ProxyRuleset.table, set: "no-endpoints4").isEmpty)

        await syncer.remove(try Self.service("a", "10.96.0.1"))
        fake.failNextApply(with: NFTablesError(code: .commandFailed, operation: "apply", message: "injected"))
        await #expect(throws: NFTablesError.self) { try await syncer.sync() }
        let recovery = try await syncer.sync()
        #expect(recovery.full && recovery.services == 1)
        #expect(Set(try Self.backends(fake)) == ["10.244.2.5 . 8080"])
    }

    @Test func badInputIsReportedNotApplied() async throws {
        let fake = FakeNFTables()
        let syncer = ProxySyncer(node: ProxyNode(name: "node-1"), clusterCIDRs: [], backend: fake)
        await syncer.set(try Self.service("a", "10.96.0.1"))
        await syncer.set(try Self.slice("a", ["10.244.0.5", "fd00::5"]))
        let report = try await syncer.sync()
        #expect(report.skipped.map(\.description) == ["n/a: endpoint address \"fd00::5\" is not an IPv4 address"])
        #expect(try Self.backends(fake).allSatisfy { $0 == "10.244.0.5 . 8080" })
    }
}
