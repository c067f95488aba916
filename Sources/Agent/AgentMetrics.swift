import PrometheusText
import Synchronization

/// What `weft agent` reports on `/metrics` (Prometheus text format 0.0.4) and `/healthz`: the overlay's own
/// metrics and, when the agent runs the service proxy, its `ProxyMetrics`.
public final class AgentMetrics: Sendable {
    private struct Values {
        var synced = false
        var reconciles = 0
        var errors = 0
        var changes = 0
        var peers = 0
        var skipped = 0
        var lastDurationSeconds = 0.0
        var lastError: String?
    }

    private let values = Mutex(Values())
    /// The service proxy's metrics and health (nil: the agent runs no proxy).
    public let proxy: ProxyMetrics?
    /// The network-policy enforcer's metrics and health (nil: the agent enforces no policies).
    public let policy: PolicyMetrics?

    public init(proxy: ProxyMetrics? = nil, policy: PolicyMetrics? = nil) {
        self.proxy = proxy
        self.policy = policy
    }

    /// The Node informer has delivered its first list.
    public func recordSynced() {
        values.withLock { $0.synced = true }
    }

    /// A reconcile that applied all its changes.
    public func recordSuccess(_ report: ReconcileReport, duration: Duration) {
        values.withLock { v in
            v.reconciles += 1
            v.changes += report.changes.count
            v.peers = report.plan.peers.count
            v.skipped = report.plan.skipped.count
            v.lastDurationSeconds = duration.inSeconds
            v.lastError = nil
        }
    }

    /// A reconcile that failed, wholly (`report` nil) or in part.
    public func recordFailure(_ error: any Error, report: ReconcileReport?, duration: Duration) {
        values.withLock { v in
            v.reconciles += 1
            v.errors += 1
            if let report {
                v.changes += report.changes.count - report.failures
                v.skipped = report.plan.skipped.count
            }
            v.lastDurationSeconds = duration.inSeconds
            v.lastError = String(describing: error)
        }
    }

    /// Whether the last reconcile failed.
    public var isFailing: Bool { values.withLock { $0.lastError != nil } }

    /// Healthy once the informer has synced and while the last reconcile succeeded, and while the service proxy
    /// and the policy enforcer (if any) are healthy; the message says why not.
    public var health: (healthy: Bool, message: String) {
        let overlay = values.withLock { v -> (healthy: Bool, message: String) in
            if !v.synced { return (false, "waiting for the first list of Nodes") }
            if let error = v.lastError { return (false, "last reconcile failed: \(error)") }
            return (true, "ok")
        }
        let unhealthy = [overlay, proxy?.health, policy?.health].compactMap { $0 }.filter { !$0.healthy }
        guard !unhealthy.isEmpty else { return overlay }
        return (false, unhealthy.map(\.message).joined(separator: "; "))
    }

    /// The metrics in Prometheus' text exposition format.
    public func prometheusText() -> String {
        let v = values.withLock { $0 }
        var text = PrometheusText()
        text.metric(
            "weft_agent_reconciles_total", type: "counter", help: "Overlay reconciles run.", value: "\(v.reconciles)")
        text.metric(
            "weft_agent_reconcile_errors_total", type: "counter",
            help: "Overlay reconciles that failed, wholly or in part.", value: "\(v.errors)")
        text.metric(
            "weft_agent_kernel_changes_total", type: "counter", help: "Kernel changes applied by reconciles.",
            value: "\(v.changes)")
        text.metric(
            "weft_agent_peers", type: "gauge", help: "Peer nodes programmed by the last successful reconcile.",
            value: "\(v.peers)")
        text.metric(
            "weft_agent_skipped", type: "gauge", help: "Peers or families the last reconcile's plan left out.",
            value: "\(v.skipped)")
        text.metric(
            "weft_agent_last_reconcile_duration_seconds", type: "gauge", help: "How long the last reconcile took.",
            value: "\(v.lastDurationSeconds)")
        text.metric(
            "weft_agent_informer_synced", type: "gauge", help: "1 once the Node informer has synced.",
            value: v.synced ? "1" : "0")
        return text.text + (proxy?.prometheusText() ?? "") + (policy?.prometheusText() ?? "")
    }

}
