import NFTables
import Testing
import WeftNet

@testable import ServiceProxy

/// Partial syncs: only what changed, shared elements counted.
struct ProxyKernelStateTests {
    static func element(_ set: String, _ key: String, _ value: String? = nil) -> Element {
        Element(family: .inet, table: ProxyRuleset.table, set: set, key: key, value: value)
    }

    static func lines(_ tx: Transaction) -> [String] {
        tx.render().split(separator: "\n").map(String.init)
    }

    @Test func onlyTheDifferenceAndSharedElementsCounted() {
        var state = ProxyKernelState()
        let a = [
            Self.element("dispatch4", "10.96.0.1 . tcp . 80", "goto mod-1"),
            Self.element("backends4", "10.96.0.1 . tcp . 80 . 0", "10.244.0.5 . 8080"),
            Self.element("hairpin4", "10.244.0.5 . 10.244.0.5"),
        ]
        #expect(Self.lines(state.replace(service: "n/a", with: OwnedObjects(elements: a))).count == 3)
        #expect(
            state.replace(service: "n/a", with: OwnedObjects(elements: a)).isEmpty,
            "the same state again changes nothing")
        let b = [
            Self.element("dispatch4", "10.96.0.2 . tcp . 80", "goto mod-1"),
            Self.element("hairpin4", "10.244.0.5 . 10.244.0.5"),
        ]
        #expect(
            Self.lines(state.replace(service: "n/b", with: OwnedObjects(elements: b))) == [
                "add element inet weft-proxy dispatch4 { 10.96.0.2 . tcp . 80 : goto mod-1 }"
            ])
        #expect(state.count == 4)

        // A changed endpoint: the bucket's value is deleted and added again, in that order.
        var moved = a
        moved[1] = Self.element("backends4", "10.96.0.1 . tcp . 80 . 0", "10.244.1.7 . 8080")
        let change = Self.lines(state.replace(service: "n/a", with: OwnedObjects(elements: moved)))
        #expect(change.count == 2 && change[0].hasPrefix("delete element") && change[1].hasPrefix("add element"))
        #expect(change[1].contains("10.244.1.7 . 8080"))

        // Service a goes: its elements go, the hairpin entry b still uses stays.
        let gone = Self.lines(state.replace(service: "n/a", with: OwnedObjects()))
        #expect(gone.count == 2 && gone.allSatisfy { $0.hasPrefix("delete element") })
        #expect(!gone.contains { $0.contains("hairpin4") })
        #expect(Self.lines(state.replace(service: "n/b", with: OwnedObjects())).count == 2)
        #expect(state.count == 0 && state.services.isEmpty)
    }

    /// A service's own chains and sets (session affinity): a changed chain is flushed and refilled, a gone
    /// endpoint's chain and set are deleted after the references to them are gone, a kept one is not touched.
    @Test func ownedChainsAndSetsInAnOrderTheKernelTakes() {
        var state = ProxyKernelState()
        let plan = { (endpoints: [String]) -> OwnedObjects in
            var plan = ServicePortPlan(
                key: ServicePortKey(namespace: "n", name: "a", port: "", protocol: .tcp, family: .v4),
                clusterIP: IPAddress("10.96.0.1")!, port: 80)
            plan.affinityTimeoutSeconds = 60
            plan.endpoints = endpoints.map { ServiceEndpoint(address: IPAddress($0)!, port: 8080) }
            return ProxyRuleset(clusterCIDRs: []).objects([plan], node: ProxyNode(name: "node"))
        }
        let first = Self.lines(state.replace(service: "n/a", with: plan(["10.244.0.5", "10.244.1.5"])))
        let firstChain = first.firstIndex { $0.hasPrefix("add chain") }!
        let lastSet = first.lastIndex { $0.hasPrefix("add set") }!
        let firstRule = first.firstIndex { $0.hasPrefix("add rule") }!
        let lastChain = first.lastIndex { $0.hasPrefix("add chain") }!
        let dispatch = first.firstIndex { $0.contains("dispatch4") }!
        #expect(lastSet < firstChain && lastChain < firstRule && firstRule < dispatch, "\(first)")
        #expect(state.ownedObjects == 5, "a dispatch chain, and a chain and a set per endpoint")

        let second = Self.lines(state.replace(service: "n/a", with: plan(["10.244.0.5"])))
        let kept = ProxyRuleset.hash("10.244.0.5:8080").prefix(8)
        let gone = ProxyRuleset.hash("10.244.1.5:8080").prefix(8)
        #expect(!second.contains { $0.contains(kept) && !$0.hasPrefix("add rule") }, "the kept endpoint stays")
        let flush = second.firstIndex { $0.hasPrefix("flush chain") }!
        let deleteChain = second.firstIndex { $0.hasPrefix("delete chain") && $0.contains(gone) }!
        let deleteSet = second.firstIndex { $0.hasPrefix("delete set") && $0.contains(gone) }!
        #expect(flush < deleteChain && deleteChain < deleteSet, "\(second)")
        #expect(second.filter { $0.hasPrefix("add rule") }.count == 2, "the dispatch chain refilled: \(second)")

        let removed = Self.lines(state.replace(service: "n/a", with: OwnedObjects()))
        #expect(removed.first?.hasPrefix("delete element") == true, "\(removed)")
        #expect(removed.filter { $0.hasPrefix("delete chain") }.count == 2 && state.ownedObjects == 0)
    }
}
