import FoundationEssentials
import Policy
import PrometheusText
import Synchronization

/// The network-policy enforcer's metrics (under `weft_policy_`) and its health: healthy once a sync has succeeded
/// and while the last sync succeeded.
public final class PolicyMetrics: Sendable {
    private struct Values {
        var syncs = SyncStatistics()
        var report: PolicySyncer.Report?
        var unsynced: [String] = []
    }

    private let now: @Sendable () -> Double
    private let values = Mutex(Values())

    /// `now` gives the wall-clock time in Unix seconds (tests pass their own).
    public init(now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.now = now
    }

    /// A change arrived that the next sync will program.
    public func recordQueued() {
        let time = now()
        values.withLock { $0.syncs.lastQueued = time }
    }

    /// A sync that succeeded (and did something: syncs with nothing to do are not recorded).
    public func recordSuccess(_ report: PolicySyncer.Report, duration: Duration) {
        let time = now()
        values.withLock { v in
            v.syncs.recordSuccess(full: report.full, duration: duration, at: time)
            v.report = report
        }
    }

    /// A sync whose transaction failed (nothing of it was applied).
    public func recordFailure(_ error: any Error) {
        values.withLock { $0.syncs.recordFailure(error) }
    }

    /// The agent went on without `kind` (AdminNetworkPolicy, BaselineAdminNetworkPolicy): not served, or its
    /// list kept failing. Enforced as none until its informer lists it.
    public func recordUnsynced(_ kind: String) {
        values.withLock { if !$0.unsynced.contains(kind) { $0.unsynced.append(kind) } }
    }

    /// Whether the enforcer is healthy; the message says why not.
    public var health: (healthy: Bool, message: String) {
        values.withLock { v in
            if let error = v.syncs.lastError { return (false, "network policy: last sync failed: \(error)") }
            if v.syncs.lastSuccess == nil { return (false, "network policy: waiting for the first successful sync") }
            return (true, "ok")
        }
    }

    public var isHealthy: Bool { health.healthy }

    /// The metrics in Prometheus' text exposition format.
    public func prometheusText() -> String {
        let v = values.withLock { $0 }
        let report = v.report
        var text = PrometheusText()
        v.syncs.render(
            into: &text, prefix: "weft_policy", durationHelp: "How long successful syncs took (compile and apply).",
            queued: "change policies read")
        let counts = report?.policies
        let policies: [(kind: String, count: Int)] = [
            ("NetworkPolicy", counts?.networkPolicies ?? 0),
            ("AdminNetworkPolicy", counts?.adminNetworkPolicies ?? 0),
            ("BaselineAdminNetworkPolicy", counts?.baselineAdminNetworkPolicies ?? 0),
        ]
        text.header("weft_policy_policies", type: "gauge", help: "Policies the last successful sync compiled, by kind.")
        for (kind, count) in policies { text.sample("weft_policy_policies", labels: [("kind", kind)], "\(count)") }
        text.metric(
            "weft_policy_local_pods", type: "gauge", help: "Local pods the last successful sync enforces for.",
            value: "\(report?.localPods ?? 0)")
        text.metric(
            "weft_policy_groups", type: "gauge", help: "Pod groups (chains) after the last successful sync.",
            value: "\(report?.groups ?? 0)")
        text.metric(
            "weft_policy_elements", type: "gauge",
            help: "Set and map elements beyond the skeleton after the last successful sync.",
            value: "\(report?.elements ?? 0)")
        text.metric(
            "weft_policy_sets", type: "gauge", help: "Pod-group sets after the last successful sync.",
            value: "\(report?.sets ?? 0)")
        text.metric(
            "weft_policy_skipped", type: "gauge",
            help: "Policies or rules the last successful sync left out for bad input (each logged with its reason).",
            value: "\(report?.skipped.count ?? 0)")
        if !v.unsynced.isEmpty {
            text.header(
                "weft_policy_kind_unsynced", type: "gauge",
                help: "Policy kinds the agent started without (not served, or their list failed): enforced as none.")
            for kind in v.unsynced { text.sample("weft_policy_kind_unsynced", labels: [("kind", kind)], "1") }
        }
        return text.text
    }
}
