import NIOCore

/// How the proxy treats clients and upstreams: timeouts, limits, pooling, balancing and passive health.
public struct ProxyConfiguration: Sendable, Hashable {
    /// How a backend's endpoint is picked for a request.
    public enum Balancing: String, Sendable, Hashable, CaseIterable {
        /// In turn, per route backend.
        case roundRobin = "round-robin"
        /// The endpoint with the fewest requests in flight (ties in turn).
        case leastRequest = "least-request"
    }

    /// Time to establish a TCP connection to an endpoint; past it the endpoint counts as failed (502, or a
    /// retry on another endpoint).
    public var connectTimeout: Duration
    /// Time from sending a request upstream to its response head; past it the client gets 504.
    public var requestTimeout: Duration
    /// Time a client has to send a complete request head, on a new connection and between keep-alive requests
    /// (and to finish a TLS handshake): past it the connection is closed (slowloris).
    public var headerReadTimeout: Duration
    /// Largest request head (request line and header fields) accepted; larger ones get 431.
    public var maxHeaderBytes: Int
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes: Int
    /// Idle keep-alive connections kept per endpoint and event loop: at least the requests in flight to it, or
    /// every response beyond it closes a connection the next request opens again (32 cost ~20 % at 50 clients).
    public var maxIdleConnectionsPerEndpoint: Int
    /// How long an idle upstream connection is kept.
    public var idleConnectionTimeout: Duration
    public var balancing: Balancing
    /// Consecutive connect failures after which an endpoint is ejected.
    public var ejectionThreshold: Int
    /// How long an ejected endpoint is left out (unless every endpoint of a backend is ejected).
    public var ejectionDuration: Duration
    /// Endpoints tried for an idempotent request whose connection attempts fail.
    public var maxAttempts: Int
    /// Event loops (threads) of a proxy that makes its own group: one per core by default.
    public var eventLoops: Int

    public init(
        connectTimeout: Duration = .seconds(3), requestTimeout: Duration = .seconds(60),
        headerReadTimeout: Duration = .seconds(10), maxHeaderBytes: Int = 32 * 1024,
        maxBodyBytes: Int = 64 * 1024 * 1024, maxIdleConnectionsPerEndpoint: Int = 256,
        idleConnectionTimeout: Duration = .seconds(60), balancing: Balancing = .roundRobin, ejectionThreshold: Int = 3,
        ejectionDuration: Duration = .seconds(10), maxAttempts: Int = 3, eventLoops: Int = System.coreCount
    ) {
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.headerReadTimeout = headerReadTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxIdleConnectionsPerEndpoint = maxIdleConnectionsPerEndpoint
        self.idleConnectionTimeout = idleConnectionTimeout
        self.balancing = balancing
        self.ejectionThreshold = ejectionThreshold
        self.ejectionDuration = ejectionDuration
        self.maxAttempts = maxAttempts
        self.eventLoops = eventLoops
    }
}
