import NFTables
import Testing

@testable import ServiceProxy

/// Partial syncs: only what changed, shared elements counted.
struct ProxyElementStateTests {
    static func element(_ set: String, _ key: String, _ value: String? = nil) -> Element {
        Element(family: .inet, table: ProxyRuleset.table, set: set, key: key, value: value)
    }

    static func lines(_ tx: Transaction) -> [String] {
        tx.render().split(separator: "\n").map(String.init)
    }

    @Test func onlyTheDifferenceAndSharedElementsCounted() {
        var state = ProxyElementState()
        let a = [
            Self.element("frontends4-16", "10.96.0.1 . tcp . 80"),
            Self.element("backends4-16", "10.96.0.1 . tcp . 80 . 0", "10.244.0.5 . 8080"),
            Self.element("hairpin4", "10.244.0.5 . 10.244.0.5"),
        ]
        #expect(Self.lines(state.replace(service: "n/a", with: a)).count == 3)
        #expect(state.replace(service: "n/a", with: a).isEmpty, "the same state again changes nothing")
        let b = [
            Self.element("frontends4-16", "10.96.0.2 . tcp . 80"), Self.element("hairpin4", "10.244.0.5 . 10.244.0.5"),
        ]
        #expect(
            Self.lines(state.replace(service: "n/b", with: b)) == [
                "add element inet weft-proxy frontends4-16 { 10.96.0.2 . tcp . 80 }"
            ])
        #expect(state.count == 4)

        // A changed endpoint: the bucket's value is deleted and added again, in that order.
        var moved = a
        moved[1] = Self.element("backends4-16", "10.96.0.1 . tcp . 80 . 0", "10.244.1.7 . 8080")
        let change = Self.lines(state.replace(service: "n/a", with: moved))
        #expect(change.count == 2 && change[0].hasPrefix("delete element") && change[1].hasPrefix("add element"))
        #expect(change[1].contains("10.244.1.7 . 8080"))

        // Service a goes: its elements go, the hairpin entry b still uses stays.
        let gone = Self.lines(state.replace(service: "n/a", with: []))
        #expect(gone.count == 2 && gone.allSatisfy { $0.hasPrefix("delete element") })
        #expect(!gone.contains { $0.contains("hairpin4") })
        #expect(Self.lines(state.replace(service: "n/b", with: [])).count == 2)
        #expect(state.count == 0 && state.services.isEmpty)
    }
}
