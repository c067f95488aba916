import KubeModel
import NFTables
import NFTablesTesting
import Testing
import WeftNet

@testable import ServiceProxy

/// The three ways a full sync programs the table (`ProxySyncer.applyFullSync`): made from nothing, kept and
/// refilled when it has the same skeleton, replaced whole when it has another. Each must end in exactly what the
/// one-transaction text form (`ProxyRuleset.fullSync`) makes.
struct ProxyFullSyncTests {
    static let node = ProxyNode(name: "node-1")
    static let cidrs = [IPPrefix("10.244.0.0/16")!]

    static func service(_ name: String, _ clusterIP: String, affinity: Bool = false) throws -> Service {
        try Manifest.decode(
            try #require(
                try Manifest.decodeDocuments(
                    """
                    apiVersion: v1
                    kind: Service
                    metadata: {name: \(name), namespace: n}
                    spec: {clusterIP: \(clusterIP), ports: [{port: 80}]\(affinity ? ", sessionAffinity: ClientIP" : "")}
                    """
                ).first))
    }

    /// Everything in the proxy's table: each chain's rules and each set's elements.
    static func contents(_ nft: FakeNFTables) throws -> [String] {
        let info = try #require(try nft.tableInfo(family: .inet, table: ProxyRuleset.table))
        var out = ["table: \(info.comment ?? "")"]
        for chain in info.chains.sorted() {
            let rules = try nft.listRules(family: .inet, table: ProxyRuleset.table, chain: chain).map(\.body)
            out.append("chain \(chain): \(rules.joined(separator: "; "))")
        }
        for set in info.sets.sorted() {
            let elements = try nft.listElements(family: .inet, table: ProxyRuleset.table, set: set)
            out.append("set \(set): \(elements.map { "\($0.key)\($0.value.map { " : \($0)" } ?? "")" }.sorted())")
        }
        return out
    }

    /// The table the text form makes for `services` and `slices`.
    static func reference(_ services: [Service], _ slices: [EndpointSlice]) throws -> [String] {
        let result = ServicePlanner(node: node).plan(services: services, slices: slices)
        let nft = FakeNFTables()
        try nft.apply(ProxyRuleset(clusterCIDRs: cidrs).fullSync(result.plans, node: node))
        return try contents(nft)
    }

    static func sync(_ nft: FakeNFTables, _ services: [Service], _ slices: [EndpointSlice]) async throws
        -> ProxySyncer.Report
    {
        let syncer = ProxySyncer(node: node, clusterCIDRs: cidrs, backend: nft)
        for service in services { await syncer.set(service) }
        for slice in slices { await syncer.set(slice) }
        return try await syncer.sync()
    }

    @Test func madeKeptOrReplacedAlwaysEndsAsTheTextForm() async throws {
        let nft = FakeNFTables()
        let sticky = try Self.service("sticky", "10.96.0.1", affinity: true)
        let plain = try Self.service("plain", "10.96.0.2")
        let before = [
            try ProxySyncerTests.slice("sticky", ["10.244.0.5", "10.244.0.6"]),
            try ProxySyncerTests.slice("plain", ["10.244.0.7"]),
        ]
        // 1. No table: made.
        #expect(try await Self.sync(nft, [sticky, plain], before).full)
        #expect(try Self.contents(nft) == Self.reference([sticky, plain], before))

        // A client in every session-affinity set: kept when the table is kept, for the endpoints that stay.
        let clientSets = try #require(try nft.tableInfo(family: .inet, table: ProxyRuleset.table)).sets
            .filter { $0.hasPrefix("affinity-") }
        #expect(clientSets.count == 2)
        var clients = Transaction()
        for set in clientSets {
            clients.add(Element(family: .inet, table: ProxyRuleset.table, set: set, key: "10.0.0.9"))
        }
        try nft.apply(clients)

        // 2. Same skeleton (a restarted agent; one affinity endpoint replaced, a service gone, one new).
        let other = try Self.service("other", "10.96.0.3")
        let after = [
            try ProxySyncerTests.slice("sticky", ["10.244.0.5", "10.244.0.8"]),
            try ProxySyncerTests.slice("other", ["10.244.0.9"]),
        ]
        #expect(try await Self.sync(nft, [sticky, other], after).full)
        let kept = try #require(try nft.tableInfo(family: .inet, table: ProxyRuleset.table)).sets
            .filter { $0.hasPrefix("affinity-") }
        #expect(kept.count == 2 && kept.intersection(clientSets).count == 1, "one endpoint's set stays, one is new")
        for set in kept {
            let elements = try nft.listElements(family: .inet, table: ProxyRuleset.table, set: set).map(\.key)
            #expect(elements == (clientSets.contains(set) ? ["10.0.0.9"] : []))
        }
        var forget = Transaction()
        for set in kept.intersection(clientSets) {
            forget.delete(Element(family: .inet, table: ProxyRuleset.table, set: set, key: "10.0.0.9"))
        }
        try nft.apply(forget)
        #expect(try Self.contents(nft) == Self.reference([sticky, other], after))

        // 3. Another skeleton (an older version's table, with a chain of its own): replaced whole.
        var old = Transaction()
        old.delete(Table(family: .inet, name: ProxyRuleset.table))
        old.add(Table(family: .inet, name: ProxyRuleset.table, comment: "owned by weft agent (service proxy)"))
        old.add(Chain(family: .inet, table: ProxyRuleset.table, name: "svc-old"))
        try nft.apply(old)
        #expect(try await Self.sync(nft, [plain], before).full)
        #expect(try Self.contents(nft) == Self.reference([plain], before))
    }

    @Test func aFailedElementBatchLeavesTheNextSyncFull() async throws {
        let nft = FakeNFTables()
        let plain = try Self.service("plain", "10.96.0.2")
        let slices = [try ProxySyncerTests.slice("plain", ["10.244.0.7"])]
        let syncer = ProxySyncer(node: Self.node, clusterCIDRs: Self.cidrs, backend: nft)
        await syncer.set(plain)
        for slice in slices { await syncer.set(slice) }
        _ = try await syncer.sync()
        await syncer.set(try ProxySyncerTests.slice("plain", ["10.244.0.8"]))
        await syncer.remove(plain)
        await syncer.set(plain)
        nft.failNextApply(with: NFTablesError(code: .commandFailed, operation: "apply", message: "injected"))
        await #expect(throws: NFTablesError.self) { try await syncer.sync() }
        let recovery = try await syncer.sync()
        #expect(recovery.full)
        #expect(
            try Self.contents(nft)
                == Self.reference([plain], [try ProxySyncerTests.slice("plain", ["10.244.0.8"])]))
    }
}
