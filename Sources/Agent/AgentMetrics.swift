import Synchronization

/// What `weft agent` reports on `/metrics` (Prometheus text format 0.0.4) and `/healthz`.
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

    public init() {}

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
            v.lastDurationSeconds = Self.seconds(duration)
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
            v.lastDurationSeconds = Self.seconds(duration)
            v.lastError = String(describing: error)
        }
    }

    /// Whether the last reconcile failed.
    public var isFailing: Bool { values.withLock { $0.lastError != nil } }

    /// Healthy once the informer has synced and while the last reconcile succeeded; the message says why not.
    public var health: (healthy: Bool, message: String) {
        values.withLock { v in
            if !v.synced { return (false, "waiting for the first list of Nodes") }
            if let error = v.lastError { return (false, "last reconcile failed: \(error)") }
            return (true, "ok")
        }
    }

    /// The metrics in Prometheus' text exposition format.
    public func prometheusText() -> String {
        let v = values.withLock { $0 }
        let metrics: [(name: String, type: String, help: String, value: String)] = [
            ("weft_agent_reconciles_total", "counter", "Overlay reconciles run.", "\(v.reconciles)"),
            (
                "weft_agent_reconcile_errors_total", "counter",
                "Overlay reconciles that failed, wholly or in part.", "\(v.errors)"
            ),
            ("weft_agent_kernel_changes_total", "counter", "Kernel changes applied by reconciles.", "\(v.changes)"),
            (
                "weft_agent_peers", "gauge", "Peer nodes programmed by the last successful reconcile.",
                "\(v.peers)"
            ),
            (
                "weft_agent_skipped", "gauge", "Peers or families the last reconcile's plan left out.",
                "\(v.skipped)"
            ),
            (
                "weft_agent_last_reconcile_duration_seconds", "gauge", "How long the last reconcile took.",
                "\(v.lastDurationSeconds)"
            ),
            ("weft_agent_informer_synced", "gauge", "1 once the Node informer has synced.", v.synced ? "1" : "0"),
        ]
        return metrics.map { m in
            "# HELP \(m.name) \(m.help)\n# TYPE \(m.name) \(m.type)\n\(m.name) \(m.value)\n"
        }.joined()
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
