import KubeModel
import Testing

@testable import IngressProxy

/// Weighted backendRefs: the pick walks the weights laid end to end, so every draw is predictable.
struct WeightedBackendTests {
    @Test func everyDrawOfOneRoundLandsInProportion() {
        var counts = [0, 0, 0]
        for draw in UInt64(0)..<200 {
            counts[WeightedPick.index(weights: [70, 0, 30], draw: draw) ?? 1] += 1
        }
        #expect(counts == [140, 0, 60])
        #expect(WeightedPick.index(weights: [70, 30], draw: 69) == 0)
        #expect(WeightedPick.index(weights: [70, 30], draw: 70) == 1)
        #expect(WeightedPick.index(weights: [0, 0], draw: 5) == nil)
        #expect(WeightedPick.index(weights: [], draw: 5) == nil)
    }

    @Test func aSeededGeneratorGivesARepeatableSplit() {
        struct SplitMix: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }
        var generator = SplitMix(state: 42)
        var first = 0
        for _ in 0..<10_000 where WeightedPick.index(weights: [70, 30], using: &generator) == 0 { first += 1 }
        #expect((6_800...7_200).contains(first))
    }

    static let rules = """
        [{matches: [{path: {value: /split}}],
          backendRefs: [{name: a, port: 80, weight: 70}, {name: b, port: 80, weight: 30},
                        {name: muted, port: 80, weight: 0}]},
         {matches: [{path: {value: /half}}], backendRefs: [{name: a, port: 80}, {name: gone, port: 80}]},
         {matches: [{path: {value: /zero}}], backendRefs: [{name: a, port: 80, weight: 0}]}]
        """

    static func table() throws -> RouteTable {
        try Fixtures.table(
            Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP}]")
                + GatewayStatusTests.route("weights", rules: rules)
                + Fixtures.service("a", namespace: "infra", address: "10.0.0.1")
                + Fixtures.service("b", namespace: "infra", address: "10.0.0.2")
                + Fixtures.service("muted", namespace: "infra", address: "10.0.0.3"))
    }

    static func outcome(_ decision: RouteDecision) -> String {
        switch decision {
        case .forward(let forward): return forward.backend
        case .reject(let status, _): return String(status)
        case .redirect(let status, _): return "redirect \(status)"
        }
    }

    @Test func weightsSplitTrafficAndWeightZeroGetsNone() throws {
        let table = try Self.table()
        var counts: [String: Int] = [:]
        for draw in UInt64(0)..<1000 {
            counts[Self.outcome(table.decide(Fixtures.request("/split"), draw: draw)), default: 0] += 1
        }
        #expect(counts == ["infra/a:80": 700, "infra/b:80": 300])
    }

    /// HTTPRouteRule.backendRefs: with two equal weights and one invalid backend, half the requests get 500.
    @Test func anInvalidBackendTakesItsShareAs500() throws {
        let table = try Self.table()
        var counts: [String: Int] = [:]
        for draw in UInt64(0)..<100 {
            counts[Self.outcome(table.decide(Fixtures.request("/half"), draw: draw)), default: 0] += 1
        }
        #expect(counts == ["infra/a:80": 50, "500": 50])
        #expect(Self.outcome(table.decide(Fixtures.request("/zero"), draw: 0)) == "500")
    }
}
