import PrometheusText
import Synchronization

/// The proxy's Prometheus metrics: requests by route and status, request latency by route, upstream errors by
/// kind, open client and upstream connections. Updated from every event loop; `render()` writes the text.
public final class ProxyMetrics: Sendable {
    /// What went wrong talking to an upstream.
    public enum UpstreamErrorKind: String, Sendable, Hashable, CaseIterable {
        /// The TCP connection was refused or failed.
        case connectFailed = "connect_failed"
        /// The TCP connection took longer than the connect timeout.
        case connectTimeout = "connect_timeout"
        /// No response head within the request timeout.
        case timeout
        /// The connection closed or failed before the response was complete.
        case reset
        /// The upstream sent something that is not HTTP/1.1.
        case protocolError = "protocol_error"
    }

    private struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    private struct State {
        var requests: [RequestKey: Int] = [:]
        var latency: [String: PrometheusHistogram] = [:]
        var upstreamErrors: [UpstreamErrorKind: Int] = [:]
        var clientConnections = 0
        var clientConnectionsTotal = 0
        var upstreamConnections = 0
        var upstreamConnectionsTotal = 0
        var ejections = 0
        var tableUpdates = 0
    }

    /// Latency buckets: 1 ms to ~33 s, doubling.
    public static let latencyBounds = PrometheusHistogram.exponential(start: 0.001, factor: 2, count: 16)

    private let state = Mutex(State())

    public init() {}

    /// A request finished with `status` on `route` (`none` when no route matched) after `duration`.
    public func recordRequest(route: String, status: Int, duration: Duration) {
        state.withLock { state in
            state.requests[RequestKey(route: route, status: status), default: 0] += 1
            state.latency[route, default: PrometheusHistogram(bounds: Self.latencyBounds)].observe(duration.inSeconds)
        }
    }

    public func recordUpstreamError(_ kind: UpstreamErrorKind) {
        state.withLock { $0.upstreamErrors[kind, default: 0] += 1 }
    }

    public func recordEjection() { state.withLock { $0.ejections += 1 } }

    public func recordTableUpdate() { state.withLock { $0.tableUpdates += 1 } }

    public func clientConnectionOpened() {
        state.withLock { state in
            state.clientConnections += 1
            state.clientConnectionsTotal += 1
        }
    }

    public func clientConnectionClosed() { state.withLock { $0.clientConnections -= 1 } }

    public func upstreamConnectionOpened() {
        state.withLock { state in
            state.upstreamConnections += 1
            state.upstreamConnectionsTotal += 1
        }
    }

    public func upstreamConnectionClosed() { state.withLock { $0.upstreamConnections -= 1 } }

    /// Requests counted for `route` with `status`.
    public func requests(route: String, status: Int) -> Int {
        state.withLock { $0.requests[RequestKey(route: route, status: status), default: 0] }
    }

    /// Upstream connections opened since start.
    public var upstreamConnectionsOpened: Int { state.withLock { $0.upstreamConnectionsTotal } }

    /// Open client connections.
    public var openClientConnections: Int { state.withLock { $0.clientConnections } }

    /// The Prometheus text exposition of every metric.
    public func render() -> String {
        let state = self.state.withLock { $0 }
        var text = PrometheusText()
        text.header("weft_ingress_requests_total", type: "counter", help: "Requests answered, by route and status.")
        for (key, count) in state.requests.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) })
        {
            text.sample(
                "weft_ingress_requests_total", labels: [("route", key.route), ("status", "\(key.status)")], "\(count)")
        }
        text.histogram(
            "weft_ingress_request_duration_seconds",
            help: "Time from a request's head to the end of its response, by route.",
            series: state.latency.sorted { $0.key < $1.key }.map { ([("route", $0.key)], $0.value) })
        text.header(
            "weft_ingress_upstream_errors_total", type: "counter", help: "Failures talking to upstreams, by kind.")
        for kind in UpstreamErrorKind.allCases {
            text.sample(
                "weft_ingress_upstream_errors_total", labels: [("kind", kind.rawValue)],
                "\(state.upstreamErrors[kind, default: 0])")
        }
        text.metric(
            "weft_ingress_endpoint_ejections_total", type: "counter",
            help: "Endpoints ejected by passive health checking.", value: "\(state.ejections)")
        text.metric(
            "weft_ingress_client_connections", type: "gauge", help: "Open client connections.",
            value: "\(state.clientConnections)")
        text.metric(
            "weft_ingress_client_connections_total", type: "counter", help: "Client connections accepted.",
            value: "\(state.clientConnectionsTotal)")
        text.metric(
            "weft_ingress_upstream_connections", type: "gauge", help: "Open upstream connections (busy and idle).",
            value: "\(state.upstreamConnections)")
        text.metric(
            "weft_ingress_upstream_connections_total", type: "counter", help: "Upstream connections opened.",
            value: "\(state.upstreamConnectionsTotal)")
        text.metric(
            "weft_ingress_route_table_updates_total", type: "counter", help: "Route tables swapped in.",
            value: "\(state.tableUpdates)")
        return text.text
    }
}
