import FoundationEssentials
import PrometheusText
import ServiceProxy
import Synchronization

/// The service proxy's metrics (kube-proxy's, under `weft_proxy_`) and its health, kube-proxy's way: healthy once
/// a sync has succeeded, while the last sync succeeded, and while no change has waited longer than
/// `healthTimeout` for a sync.
public final class ProxyMetrics: Sendable {
    private struct Values {
        var syncs = SyncStatistics()
        var programmingLatency = PrometheusHistogram(bounds: ProxyMetrics.programmingLatencyBuckets)
        /// The first change not yet synced, in Unix seconds.
        var oldestPending: Double?
        var services = 0
        var elements = 0
        var ownedObjects = 0
        var skipped = 0
        var conntrackDeleted = 0
        var conntrackFailures = 0
    }

    /// kube-proxy's network-programming buckets: 0.25 s, 0.5 s, every second to 59 s, every 5 s to 115 s, every
    /// 30 s to 300 s.
    static let programmingLatencyBuckets: [Double] =
        [0.25, 0.5] + (1...59).map(Double.init) + stride(from: 60.0, through: 115, by: 5)
        + stride(from: 120.0, through: 300, by: 30)

    /// How long a change may wait for a sync before the proxy counts as unhealthy.
    public let healthTimeout: Duration
    private let now: @Sendable () -> Double
    private let values = Mutex(Values())

    /// `now` gives the wall-clock time in Unix seconds (tests pass their own).
    public init(
        healthTimeout: Duration = .seconds(60),
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.healthTimeout = healthTimeout
        self.now = now
    }

    /// A Service or EndpointSlice change arrived that the next sync will program.
    public func recordQueued() {
        let time = now()
        values.withLock { v in
            v.syncs.lastQueued = time
            if v.oldestPending == nil { v.oldestPending = time }
        }
    }

    /// A sync that succeeded. `services`: the services the proxy now programs; `objects`: the syncer's
    /// `objectCounts`.
    public func recordSuccess(
        _ report: ProxySyncer.Report, duration: Duration, services: Int, objects: (elements: Int, owned: Int)
    ) {
        let time = now()
        let latencies = report.changeTriggerTimes.compactMap(Self.unixSeconds).map { max(0, time - $0) }
        values.withLock { v in
            v.syncs.recordSuccess(full: report.full, duration: duration, at: time)
            for latency in latencies { v.programmingLatency.observe(latency) }
            v.oldestPending = nil
            v.services = services
            v.elements = objects.elements
            v.ownedObjects = objects.owned
            v.skipped += report.skipped.count
            v.conntrackDeleted += report.conntrackEntriesDeleted
            if report.conntrackError != nil { v.conntrackFailures += 1 }
        }
    }

    /// A sync whose transaction failed (nothing of it was applied).
    public func recordFailure(_ error: any Error) {
        values.withLock { $0.syncs.recordFailure(error) }
    }

    /// Whether the proxy is healthy; the message says why not.
    public var health: (healthy: Bool, message: String) {
        let time = now()
        let timeout = healthTimeout.inSeconds
        return values.withLock { v in
            if let error = v.syncs.lastError { return (false, "service proxy: last sync failed: \(error)") }
            guard let lastSuccess = v.syncs.lastSuccess else {
                return (false, "service proxy: waiting for the first successful sync")
            }
            if let pending = v.oldestPending, time - pending >= timeout {
                return (
                    false,
                    "service proxy: changes pending for \(Int(time - pending)) s, last successful sync "
                        + "\(Int(time - lastSuccess)) s ago"
                )
            }
            return (true, "ok")
        }
    }

    public var isHealthy: Bool { health.healthy }

    /// The metrics in Prometheus' text exposition format.
    public func prometheusText() -> String {
        let v = values.withLock { $0 }
        var text = PrometheusText()
        v.syncs.render(
            into: &text, prefix: "weft_proxy", durationHelp: "How long successful syncs took, full or partial.",
            queued: "Service or EndpointSlice change")
        text.histogram(
            "weft_proxy_network_programming_duration_seconds",
            help: "From an endpoint change (its EndpointSlice's last-change-trigger-time) to the sync that "
                + "programmed it.",
            series: [([], v.programmingLatency)])
        text.metric(
            "weft_proxy_services", type: "gauge",
            help: "Services with cluster IPs the last successful sync programmed.", value: "\(v.services)")
        text.metric(
            "weft_proxy_elements", type: "gauge",
            help: "Elements of the shared sets and maps after the last successful sync.", value: "\(v.elements)")
        text.metric(
            "weft_proxy_owned_objects", type: "gauge",
            help: "Service-owned chains and sets after the last successful sync.", value: "\(v.ownedObjects)")
        text.metric(
            "weft_proxy_skipped_total", type: "counter",
            help: "Services or ports left out of syncs for bad input (each logged with its reason).",
            value: "\(v.skipped)")
        text.metric(
            "weft_proxy_conntrack_entries_deleted_total", type: "counter",
            help: "Conntrack entries of stale UDP flows deleted after syncs.", value: "\(v.conntrackDeleted)")
        text.metric(
            "weft_proxy_conntrack_failures_total", type: "counter",
            help: "Syncs after which deleting stale UDP conntrack entries failed.", value: "\(v.conntrackFailures)")
        return text.text
    }

    /// An RFC 3339 time (with or without fractional seconds) in Unix seconds.
    static func unixSeconds(_ text: String) -> Double? {
        if let date = try? Date(text, strategy: .iso8601) { return date.timeIntervalSince1970 }
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return (try? fractional.parse(text))?.timeIntervalSince1970
    }

}
