import Synchronization

/// Picks the endpoint of a route backend for each request, shared by every event loop: round-robin (one cursor
/// per backend) or least-request (fewest in flight, ties in turn), leaving out endpoints passive health checking
/// has ejected — `ejectionThreshold` connect failures in a row eject an endpoint for `ejectionDuration`. When
/// every endpoint of a backend is ejected they are tried anyway: a guess beats a certain 503.
public final class EndpointBalancer: Sendable {
    private struct Health {
        var consecutiveFailures = 0
        var ejectedUntil: ContinuousClock.Instant?
    }

    private struct State {
        var cursors: [String: Int] = [:]
        var inFlight: [BackendEndpoint: Int] = [:]
        var health: [BackendEndpoint: Health] = [:]
    }

    public let balancing: ProxyConfiguration.Balancing
    public let ejectionThreshold: Int
    public let ejectionDuration: Duration
    private let state = Mutex(State())

    public init(balancing: ProxyConfiguration.Balancing, ejectionThreshold: Int, ejectionDuration: Duration) {
        self.balancing = balancing
        self.ejectionThreshold = max(ejectionThreshold, 1)
        self.ejectionDuration = ejectionDuration
    }

    /// The endpoint of `backend` to try next, not one of `tried`; `nil` when none is left. Counts it in flight
    /// until `finished`.
    public func pick(
        backend: String, endpoints: [BackendEndpoint], excluding tried: Set<BackendEndpoint> = [],
        now: ContinuousClock.Instant = .now
    ) -> BackendEndpoint? {
        let candidates = tried.isEmpty ? endpoints : endpoints.filter { !tried.contains($0) }
        guard !candidates.isEmpty else { return nil }
        return state.withLock { state in
            let healthy = candidates.filter { endpoint in
                guard let until = state.health[endpoint]?.ejectedUntil else { return true }
                return until <= now
            }
            let pool = healthy.isEmpty ? candidates : healthy
            let cursor = state.cursors[backend, default: 0]
            state.cursors[backend] = cursor &+ 1
            if state.cursors.count > 100_000 { state.cursors = [backend: cursor &+ 1] }
            let start = Int(UInt(bitPattern: cursor) % UInt(pool.count))
            var chosen = pool[start]
            if balancing == .leastRequest {
                var fewest = state.inFlight[chosen, default: 0]
                for offset in 1..<pool.count {
                    let endpoint = pool[(start + offset) % pool.count]
                    let count = state.inFlight[endpoint, default: 0]
                    if count < fewest {
                        fewest = count
                        chosen = endpoint
                    }
                }
            }
            state.inFlight[chosen, default: 0] += 1
            return chosen
        }
    }

    /// A request picked with `pick` is done with `endpoint`.
    public func finished(_ endpoint: BackendEndpoint) {
        state.withLock { state in
            let count = state.inFlight[endpoint, default: 0] - 1
            state.inFlight[endpoint] = count > 0 ? count : nil
        }
    }

    /// A connection to `endpoint` failed; returns whether this failure ejected it.
    @discardableResult
    public func connectFailed(_ endpoint: BackendEndpoint, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            var health = state.health[endpoint, default: Health()]
            health.consecutiveFailures += 1
            var ejected = false
            if health.consecutiveFailures >= ejectionThreshold {
                if (health.ejectedUntil.map { $0 <= now }) ?? true { ejected = true }
                health.ejectedUntil = now + ejectionDuration
                health.consecutiveFailures = 0
            }
            state.health[endpoint] = health
            return ejected
        }
    }

    /// A connection to `endpoint` succeeded: its failure count starts again and it is no longer ejected.
    public func connectSucceeded(_ endpoint: BackendEndpoint) {
        state.withLock { state in _ = state.health.removeValue(forKey: endpoint) }
    }

    /// Whether `endpoint` is ejected at `now`.
    public func isEjected(_ endpoint: BackendEndpoint, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in (state.health[endpoint]?.ejectedUntil.map { $0 > now }) ?? false }
    }

    /// Requests in flight to `endpoint`.
    public func inFlight(_ endpoint: BackendEndpoint) -> Int { state.withLock { $0.inFlight[endpoint, default: 0] } }
}
