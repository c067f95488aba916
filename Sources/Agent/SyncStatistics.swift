import PrometheusText

/// What the proxy's and the policy enforcer's metrics both count about their syncs: how many ran and failed, how
/// long the successful ones took (full or partial), when the last succeeded and when the last change arrived.
struct SyncStatistics: Sendable {
    /// kube-proxy's `ExponentialBuckets(0.001, 2, 15)`: 1 ms to 16 s.
    static let durationBuckets = PrometheusHistogram.exponential(start: 0.001, factor: 2, count: 15)

    var syncs = 0
    var failures = 0
    var fullDurations = PrometheusHistogram(bounds: SyncStatistics.durationBuckets)
    var partialDurations = PrometheusHistogram(bounds: SyncStatistics.durationBuckets)
    /// Unix seconds.
    var lastSuccess: Double?
    var lastQueued: Double?
    var lastError: String?

    mutating func recordSuccess(full: Bool, duration: Duration, at time: Double) {
        syncs += 1
        if full {
            fullDurations.observe(duration.inSeconds)
        } else {
            partialDurations.observe(duration.inSeconds)
        }
        lastSuccess = time
        lastError = nil
    }

    mutating func recordFailure(_ error: any Error) {
        syncs += 1
        failures += 1
        lastError = String(describing: error)
    }

    /// `PREFIX_sync_duration_seconds`, `PREFIX_syncs_total`, `PREFIX_sync_failures_total`,
    /// `PREFIX_last_sync_timestamp_seconds` and `PREFIX_last_queued_timestamp_seconds`; `queued` says what a
    /// change is (for the last one's help text).
    func render(into text: inout PrometheusText, prefix: String, durationHelp: String, queued: String) {
        text.histogram(
            "\(prefix)_sync_duration_seconds", help: durationHelp,
            series: [([("kind", "full")], fullDurations), ([("kind", "partial")], partialDurations)])
        text.metric(
            "\(prefix)_syncs_total", type: "counter", help: "Syncs run that had something to do, successful or not.",
            value: "\(syncs)")
        text.metric(
            "\(prefix)_sync_failures_total", type: "counter",
            help: "Syncs whose transaction failed (the next one is a full sync).", value: "\(failures)")
        text.metric(
            "\(prefix)_last_sync_timestamp_seconds", type: "gauge",
            help: "When the last successful sync finished (Unix time; 0: none yet).",
            value: PrometheusText.number(lastSuccess ?? 0))
        text.metric(
            "\(prefix)_last_queued_timestamp_seconds", type: "gauge",
            help: "When the last \(queued) arrived (Unix time; 0: none yet).",
            value: PrometheusText.number(lastQueued ?? 0))
    }
}
