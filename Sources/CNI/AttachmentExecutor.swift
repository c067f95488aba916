/// An ADD that failed: which step, why, and what the rollback could not undo.
public struct AttachFailure: Error, Sendable, CustomStringConvertible {
    public var step: PlanStep
    public var reason: String
    /// Rollback DELs that failed too: `(step label, reason)`.
    public var rollbackFailures: [StepFailure]

    public var description: String {
        var text = "attaching \(step.label) failed: \(reason)"
        if !rollbackFailures.isEmpty {
            text += "; rolling back also failed for " + rollbackFailures.map(\.description).joined(separator: "; ")
        }
        return text
    }
}

/// One step's failure.
public struct StepFailure: Sendable, Hashable, CustomStringConvertible {
    public var step: String
    public var reason: String
    public var description: String { "\(step): \(reason)" }
}

/// A DEL that did not remove everything: every step's error, in the order they ran.
public struct TeardownFailure: Error, Sendable, CustomStringConvertible {
    public var failures: [StepFailure]
    public var description: String {
        "deleting the pod's networks failed for " + failures.map(\.description).joined(separator: "; ")
    }
}

/// Runs a plan's steps in order through the caller's ADD and DEL (which run one configuration list each, e.g. the
/// lab's `CNIRuntime` or weft-cni's delegation). Pure orchestration: no kernel, no processes.
public enum AttachmentExecutor {
    /// ADD of every step in `plan.addOrder`; returns each step's result. When one fails, the steps in
    /// `rollbackOrder` are deleted (all attempted, their errors collected) and `AttachFailure` is thrown.
    public static func add<Result: Sendable>(
        _ plan: AttachmentPlan, add: (PlanStep) async throws -> Result, delete: (PlanStep) async throws -> Void
    ) async throws(AttachFailure) -> [(step: PlanStep, result: Result)] {
        var results: [(step: PlanStep, result: Result)] = []
        let order = plan.addOrder
        for (n, step) in order.enumerated() {
            do {
                results.append((step, try await add(step)))
            } catch {
                var failures: [StepFailure] = []
                for undo in plan.rollbackOrder(afterFailureAt: n) {
                    do {
                        try await delete(undo)
                    } catch {
                        failures.append(StepFailure(step: undo.label, reason: "\(error)"))
                    }
                }
                throw AttachFailure(step: step, reason: "\(error)", rollbackFailures: failures)
            }
        }
        return results
    }

    /// DEL of every step in `plan.deleteOrder`; a failure does not stop the others, and all are thrown together.
    public static func delete(_ plan: AttachmentPlan, delete: (PlanStep) async throws -> Void)
        async throws(TeardownFailure)
    {
        var failures: [StepFailure] = []
        for step in plan.deleteOrder {
            do {
                try await delete(step)
            } catch {
                failures.append(StepFailure(step: step.label, reason: "\(error)"))
            }
        }
        if !failures.isEmpty { throw TeardownFailure(failures: failures) }
    }
}
