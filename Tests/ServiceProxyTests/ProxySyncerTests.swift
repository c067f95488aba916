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
        try fake.listElements(family: .inet, table: ProxyRuleset.table, set: "backends4").compactMap(\.value)
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
        #expect(partial.operations == 1 + 1 + 1 + 1, "a bucket, its dispatch entry, a hairpin entry, no-endpoints gone")
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

    final class RecordingConntrack: ConntrackCleaner, @unchecked Sendable {
        var deleted: [[StaleUDPFlow]] = []
        func delete(_ flows: [StaleUDPFlow]) throws -> Int {
            deleted.append(flows)
            return flows.count
        }
    }

    static func object<T: KubeObject>(_ yaml: String) throws -> T {
        try Manifest.decode(try #require(try Manifest.decodeDocuments(yaml).first))
    }

    /// A UDP endpoint replaced: the flows to the old endpoint (cluster IP and node port) are deleted after the
    /// sync; a TCP service's are left to TCP.
    @Test func staleUDPFlowsAreDeletedAfterTheSync() async throws {
        let conntrack = RecordingConntrack()
        let syncer = ProxySyncer(
            node: ProxyNode(name: "node-1", nodePortAddresses: [IPAddress("192.0.2.1")!]), clusterCIDRs: [],
            backend: FakeNFTables(), conntrack: conntrack)
        let dns: Service = try Self.object(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: dns, namespace: n}
            spec: {type: NodePort, clusterIP: 10.96.0.10, ports: [{port: 53, protocol: UDP, nodePort: 30053}]}
            """)
        func slice(_ address: String) throws -> EndpointSlice {
            try Self.object(
                """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: dns-1, namespace: n, labels: {kubernetes.io/service-name: dns}}
                addressType: IPv4
                ports: [{port: 5353, protocol: UDP}]
                endpoints: [{addresses: [\(address)]}]
                """)
        }
        await syncer.set(dns)
        await syncer.set(try slice("10.244.0.5"))
        await syncer.set(try Self.service("web", "10.96.0.20"))
        await syncer.set(try Self.slice("web", ["10.244.0.7"]))
        #expect(try await syncer.sync().staleFlows.isEmpty)
        await syncer.set(try slice("10.244.0.6"))
        await syncer.set(try Self.slice("web", ["10.244.0.8"]))
        let report = try await syncer.sync()
        let old = IPAddress("10.244.0.5")!
        #expect(
            report.staleFlows == [
                StaleUDPFlow(frontend: IPAddress("10.96.0.10")!, port: 53, endpoint: old),
                StaleUDPFlow(frontend: IPAddress("192.0.2.1")!, port: 30053, endpoint: old),
            ])
        #expect(conntrack.deleted == [report.staleFlows] && report.conntrackEntriesDeleted == 2)
        await syncer.remove(dns)
        #expect(
            try await syncer.sync().staleFlows.map(\.endpoint) == [IPAddress("10.244.0.6")!, IPAddress("10.244.0.6")!])
    }

    /// `externalTrafficPolicy: Local` with a `healthCheckNodePort`: the count of this node's endpoints.
    @Test func healthChecksCountLocalEndpoints() async throws {
        let syncer = ProxySyncer(node: ProxyNode(name: "node-1"), clusterCIDRs: [], backend: FakeNFTables())
        await syncer.set(
            try Self.object(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: lb, namespace: n}
                spec:
                  type: LoadBalancer
                  clusterIP: 10.96.0.30
                  externalTrafficPolicy: Local
                  healthCheckNodePort: 32000
                  ports: [{name: http, port: 80, nodePort: 30080}, {name: https, port: 443, nodePort: 30443}]
                """) as Service)
        let slice: EndpointSlice = try Self.object(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: lb-1, namespace: n, labels: {kubernetes.io/service-name: lb}}
            addressType: IPv4
            ports: [{name: http, port: 8080}, {name: https, port: 8443}]
            endpoints:
            - {addresses: [10.244.0.5], nodeName: node-1}
            - {addresses: [10.244.0.6], nodeName: node-1, conditions: {ready: false}}
            - {addresses: [10.244.1.5], nodeName: node-2}
            """)
        await syncer.set(slice)
        try await syncer.sync()
        #expect(
            await syncer.healthChecks == [
                ProxySyncer.HealthCheck(namespace: "n", name: "lb", port: 32000, localEndpoints: 1)
            ])
    }
}
