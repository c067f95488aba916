import KubeModel
import ServiceLifecycle
import Synchronization

/// The work queue of a level-triggered controller that reconciles one namespace at a time: watches mark
/// namespaces dirty, one loop reconciles them (each namespace once however many events came), retrying a failed
/// namespace shortly after.
final class NamespaceQueue: Sendable {
    private let dirty = Mutex<Set<String>>([])
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation

    init() {
        (signal, signalContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Marks namespaces for reconciliation.
    func mark<Names: Sequence<String>>(_ namespaces: Names) {
        var added = false
        dirty.withLock { set in
            for namespace in namespaces { added = set.insert(namespace).inserted || added }
        }
        if added { signalContinuation.yield() }
    }

    /// Follows one resource, marking the namespaces `affected` names for each event; after the stream ends (a slow
    /// watcher is cut off) it watches again from scratch, which replays every object as ADDED and so resyncs.
    func follow(
        _ store: ObjectStore, _ resource: ResourceInfo,
        affected: @escaping @Sendable (ObjectStore.Event) async -> [String]
    ) async {
        while !Task.isCancelled {
            do {
                let subscription = try await store.watch(resource, namespace: nil, from: nil)
                for event in subscription.initial { mark(await affected(event)) }
                for await event in subscription.stream { mark(await affected(event)) }
            } catch {}
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Which namespaces an event of a followed resource makes dirty.
    typealias Affected = @Sendable (ObjectStore.Event) async -> [String]

    /// Runs a controller until cancelled or shut down gracefully: follows each resource with its rule, and
    /// reconciles the namespaces they mark.
    func runController(
        _ store: ObjectStore, following rules: [(ResourceInfo, Affected)],
        reconcile: @escaping @Sendable (String) async throws -> Void
    ) async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for (resource, affected) in rules {
                    group.addTask { await self.follow(store, resource, affected: affected) }
                }
                group.addTask { await self.run(reconcile) }
            }
        }
    }

    /// Reconciles dirty namespaces until cancelled.
    func run(_ reconcile: @Sendable (String) async throws -> Void) async {
        for await _ in signal {
            let namespaces = dirty.withLock { set in
                defer { set.removeAll() }
                return set
            }
            for namespace in namespaces.sorted() {
                do {
                    try await reconcile(namespace)
                } catch {
                    // Try again shortly (the namespace may be going away; a later event also retries).
                    try? await Task.sleep(for: .milliseconds(200))
                    if !Task.isCancelled { mark([namespace]) }
                }
            }
        }
    }
}
