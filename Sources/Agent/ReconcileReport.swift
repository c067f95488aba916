/// The outcome of one reconcile.
public struct ReconcileReport: Sendable, Hashable {
    /// What was wanted.
    public var plan: OverlayPlan
    /// What was attempted, in order.
    public var changes: [OverlayChange]
    /// How many of `changes` failed.
    public var failures: Int

    public init(plan: OverlayPlan, changes: [OverlayChange], failures: Int) {
        self.plan = plan
        self.changes = changes
        self.failures = failures
    }
}

/// Some changes of a reconcile failed; the others were applied.
public struct OverlayReconcileError: Error, Sendable, CustomStringConvertible {
    /// One change that failed, and why.
    public struct Failure: Sendable, CustomStringConvertible {
        public var change: OverlayChange
        public var error: any Error
        public var description: String { "\(change): \(error)" }
    }

    public var report: ReconcileReport
    public var failures: [Failure]

    public var description: String {
        "\(failures.count) of \(report.changes.count) overlay changes failed: "
            + failures.map(\.description).joined(separator: "; ")
    }
}
