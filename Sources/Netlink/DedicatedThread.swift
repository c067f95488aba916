import Glibc

/// Runs work on a fresh pthread that exits afterwards, so per-thread state such as the network namespace
/// (`setns`, `unshare`) never leaks into a thread that anything else uses.
enum DedicatedThread {
    private final class Job: @unchecked Sendable {
        let work: () -> Void
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    private final class Outcome<T>: @unchecked Sendable {
        var result: Result<T, any Error>?
    }

    /// Runs `body` on a new thread, waits for it, and returns or rethrows its result.
    static func run<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let outcome = Outcome<T>()
        try withoutActuallyEscaping(body) { body in
            let job = Job { outcome.result = Result { try body() } }
            let context = Unmanaged.passRetained(job).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, nil,
                { raw in
                    let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                    job.work()
                    return nil
                }, context)
            if rc != 0 {
                Unmanaged<Job>.fromOpaque(context).release()
                throw NetlinkError(operation: "pthread_create for \(name)", errno: rc)
            }
            let joined = pthread_join(thread, nil)
            precondition(joined == 0, "pthread_join failed: \(joined)")
        }
        return try outcome.result!.get()
    }
}
