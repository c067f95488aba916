/// Undo steps collected while an ADD makes things, run in reverse when the ADD fails, so a failed ADD leaves
/// nothing half-made behind.
final class Rollback {
    private var steps: [() -> Void] = []

    func add(_ step: @escaping () -> Void) { steps.append(step) }

    func run() {
        for step in steps.reversed() { step() }
        steps.removeAll()
    }

    /// Forgets the steps: the ADD succeeded.
    func commit() { steps.removeAll() }
}
