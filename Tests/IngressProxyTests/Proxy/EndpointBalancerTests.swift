import Testing
import WeftNet

@testable import IngressProxy

struct EndpointBalancerTests {
    let endpoints = (1...3).map { BackendEndpoint(address: IPAddress("10.0.0.\($0)")!, port: 8080) }

    @Test func roundRobinPerBackend() {
        let balancer = EndpointBalancer(balancing: .roundRobin, ejectionThreshold: 3, ejectionDuration: .seconds(10))
        let picks = (0..<6).map { _ in balancer.pick(backend: "ns/web:80", endpoints: endpoints)! }
        #expect(picks == endpoints + endpoints)
        // Another backend has its own cursor.
        #expect(balancer.pick(backend: "ns/other:80", endpoints: endpoints) == endpoints[0])
        #expect(balancer.pick(backend: "ns/web:80", endpoints: endpoints, excluding: [endpoints[0]]) != endpoints[0])
        #expect(balancer.pick(backend: "ns/web:80", endpoints: endpoints, excluding: Set(endpoints)) == nil)
    }

    @Test func leastRequestPrefersTheIdleEndpoint() {
        let balancer = EndpointBalancer(balancing: .leastRequest, ejectionThreshold: 3, ejectionDuration: .seconds(10))
        let first = balancer.pick(backend: "b", endpoints: endpoints)!
        let second = balancer.pick(backend: "b", endpoints: endpoints)!
        let third = balancer.pick(backend: "b", endpoints: endpoints)!
        #expect(Set([first, second, third]) == Set(endpoints))
        balancer.finished(second)
        // Only `second` has nothing in flight, whatever the cursor says.
        for _ in 0..<3 {
            let pick = balancer.pick(backend: "b", endpoints: endpoints)!
            #expect(pick == second)
            balancer.finished(pick)
        }
        #expect(balancer.inFlight(first) == 1)
    }

    @Test func failingEndpointsAreEjectedForAWhile() {
        let balancer = EndpointBalancer(balancing: .roundRobin, ejectionThreshold: 2, ejectionDuration: .seconds(10))
        let now = ContinuousClock.now
        #expect(!balancer.connectFailed(endpoints[0], now: now))
        #expect(balancer.connectFailed(endpoints[0], now: now))
        #expect(balancer.isEjected(endpoints[0], now: now))
        for _ in 0..<4 { #expect(balancer.pick(backend: "b", endpoints: endpoints, now: now) != endpoints[0]) }
        // Back after the ejection time.
        let later = now + .seconds(11)
        #expect(!balancer.isEjected(endpoints[0], now: later))
        let picks = (0..<3).map { _ in balancer.pick(backend: "b", endpoints: endpoints, now: later)! }
        #expect(picks.contains(endpoints[0]))
        // A success resets the count.
        #expect(!balancer.connectFailed(endpoints[1], now: now))
        balancer.connectSucceeded(endpoints[1])
        #expect(!balancer.connectFailed(endpoints[1], now: now))
    }

    @Test func allEjectedAreTriedAnyway() {
        let balancer = EndpointBalancer(balancing: .roundRobin, ejectionThreshold: 1, ejectionDuration: .seconds(10))
        let now = ContinuousClock.now
        for endpoint in endpoints { balancer.connectFailed(endpoint, now: now) }
        #expect(balancer.pick(backend: "b", endpoints: endpoints, now: now) != nil)
    }
}
