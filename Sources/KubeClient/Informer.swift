import KubeModel
import Synchronization

/// Keeps a local cache of one kind of object in step with the API server and tells handlers what changed.
///
/// `run()` lists, then watches from the list's resourceVersion (with bookmarks). When the watch ends it watches
/// again from the last resourceVersion seen; on a dropped connection or any error it does so after an exponential
/// backoff; on 410 Gone it lists again and delivers only the difference to the cache (adds, updates, and deletes
/// of objects that vanished meanwhile). Events a server repeats (same resourceVersion) are not delivered twice.
///
/// Handlers are called in order, one at a time, from `run()`'s task, after the `store` reflects the change.
/// Register them before calling `run()`. `run()` returns when its task is cancelled.
public final class Informer<T: KubeObject>: Sendable {
    /// What to watch and how to retry.
    public struct Options: Sendable {
        /// One namespace, or all (`nil`).
        public var namespace: String?
        public var labelSelector: String?
        public var fieldSelector: String?
        /// Asked of the server for each watch; the informer watches again when the server closes it.
        public var watchTimeoutSeconds: Int
        public var backoff: Backoff
        /// How the informer waits between attempts (injectable so tests need not wait).
        public var sleep: @Sendable (Duration) async throws -> Void

        public init(
            namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
            watchTimeoutSeconds: Int = 300, backoff: Backoff = Backoff(),
            sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
        ) {
            self.namespace = namespace
            self.labelSelector = labelSelector
            self.fieldSelector = fieldSelector
            self.watchTimeoutSeconds = watchTimeoutSeconds
            self.backoff = backoff
            self.sleep = sleep
        }
    }

    /// Handlers of one registration; any may be absent.
    public struct Handlers: Sendable {
        public var onAdd: (@Sendable (T) async -> Void)?
        public var onUpdate: (@Sendable (_ old: T, _ new: T) async -> Void)?
        public var onDelete: (@Sendable (T) async -> Void)?

        public init(
            onAdd: (@Sendable (T) async -> Void)? = nil, onUpdate: (@Sendable (T, T) async -> Void)? = nil,
            onDelete: (@Sendable (T) async -> Void)? = nil
        ) {
            self.onAdd = onAdd
            self.onUpdate = onUpdate
            self.onDelete = onDelete
        }
    }

    /// The informer's view of the objects.
    public let store = Store<T>()
    private let client: KubeClient
    private let options: Options
    private let handlers = Mutex<[Handlers]>([])
    private let state = Mutex(SyncState())

    private struct SyncState: ~Copyable {
        var synced = false
        var stopped = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        var resourceVersion: String?
        var lastError: (any Error)?
    }

    /// Nothing starts until `run()`.
    public init(client: KubeClient, options: Options = Options()) {
        self.client = client
        self.options = options
    }

    /// Registers handlers; they see the events delivered after this call.
    public func addHandlers(_ h: Handlers) {
        handlers.withLock { $0.append(h) }
    }

    public func onAdd(_ handler: @escaping @Sendable (T) async -> Void) { addHandlers(Handlers(onAdd: handler)) }

    public func onUpdate(_ handler: @escaping @Sendable (_ old: T, _ new: T) async -> Void) {
        addHandlers(Handlers(onUpdate: handler))
    }

    public func onDelete(_ handler: @escaping @Sendable (T) async -> Void) { addHandlers(Handlers(onDelete: handler)) }

    /// Whether the first list has been delivered to the store and the handlers.
    public var hasSynced: Bool { state.withLock { $0.synced } }

    /// The last resourceVersion the informer has seen (list, event or bookmark).
    public var resourceVersion: String? { state.withLock { $0.resourceVersion } }

    /// The last error that made the informer retry, if any.
    public var lastError: (any Error)? { state.withLock { $0.lastError } }

    /// Returns once `hasSynced`; throws `CancellationError` when the waiting task is cancelled and
    /// `InformerStoppedError` when `run()` ends before the first sync.
    public func waitForSync() async throws {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result: Result<Void, any Error>? = state.withLock { s in
                    if s.synced { return .success(()) }
                    if s.stopped { return .failure(InformerStoppedError()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[id] = continuation
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Lists and watches until the task is cancelled.
    public func run() async throws {
        defer {
            let waiters = state.withLock { s in
                s.stopped = true
                defer { s.waiters = [:] }
                return Array(s.waiters.values)
            }
            for w in waiters { w.resume(throwing: InformerStoppedError()) }
        }
        var needsList = true
        var attempt = 0
        while !Task.isCancelled {
            do {
                if needsList {
                    let list = try await client.list(
                        T.self, namespace: options.namespace, labelSelector: options.labelSelector,
                        fieldSelector: options.fieldSelector)
                    try Task.checkCancellation()
                    await replace(with: list.items)
                    setResourceVersion(list.metadata.resourceVersion)
                    needsList = false
                    attempt = 0
                    markSynced()
                }
                var received = false
                let items = try await client.watchItems(
                    T.self, namespace: options.namespace, labelSelector: options.labelSelector,
                    fieldSelector: options.fieldSelector, resourceVersion: resourceVersion, allowBookmarks: true,
                    timeoutSeconds: options.watchTimeoutSeconds)
                for try await item in items {
                    received = true
                    attempt = 0
                    await apply(item)
                    if let rv = item.resourceVersion { setResourceVersion(rv) }
                }
                // The server closed the watch (its timeout): watch again at once, unless it sent nothing at all.
                if received { continue }
            } catch let error as WatchError {
                if Task.isCancelled { return }
                state.withLock { $0.lastError = error }
                if case .expired = error {
                    needsList = true
                    continue
                }
            } catch {
                if Task.isCancelled { return }
                state.withLock { $0.lastError = error }
            }
            let delay = options.backoff.delay(attempt: attempt)
            attempt += 1
            do {
                try await options.sleep(delay)
            } catch {
                return
            }
        }
    }

    // MARK: - Delivery

    private func setResourceVersion(_ rv: String?) {
        guard let rv, !rv.isEmpty else { return }
        state.withLock { $0.resourceVersion = rv }
    }

    private func markSynced() {
        let waiters = state.withLock { s in
            s.synced = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    private func apply(_ item: WatchItem<T>) async {
        guard case .event(let type, let object) = item else { return }
        switch type {
        case .added, .modified: await upsert(object)
        case .deleted:
            if store.remove(namespace: object.metadata.namespace, name: object.name) != nil {
                await deliverDelete(object)
            }
        case .bookmark, .error: break
        }
    }

    /// Adds or updates; an object identical to the cached one (a repeated event) is not delivered again.
    private func upsert(_ object: T) async {
        if let old = store.get(namespace: object.metadata.namespace, name: object.name) {
            if Self.same(old, object) { return }
            store.upsert(object)
            for h in handlers.withLock({ $0 }) { await h.onUpdate?(old, object) }
        } else {
            store.upsert(object)
            for h in handlers.withLock({ $0 }) { await h.onAdd?(object) }
        }
    }

    private func deliverDelete(_ object: T) async {
        for h in handlers.withLock({ $0 }) { await h.onDelete?(object) }
    }

    /// Makes the store equal to a fresh list, delivering adds and updates in list order, then deletes of the
    /// objects that are gone (in namespace/name order, with their last known state).
    private func replace(with items: [T]) async {
        var listed = Set<Key>()
        for object in items {
            listed.insert(Key(object))
            await upsert(object)
        }
        for old in store.list() where !listed.contains(Key(old)) {
            store.remove(namespace: old.metadata.namespace, name: old.name)
            await deliverDelete(old)
        }
    }

    private static func same(_ a: T, _ b: T) -> Bool {
        if let ra = a.metadata.resourceVersion, let rb = b.metadata.resourceVersion, ra != rb { return false }
        return a == b
    }

    private struct Key: Hashable {
        var namespace: String
        var name: String
        init(_ object: T) {
            namespace = object.metadata.namespace ?? ""
            name = object.name
        }
    }
}

/// `run()` ended (its task was cancelled) before the informer synced.
public struct InformerStoppedError: Error, Sendable, Hashable, CustomStringConvertible {
    public init() {}
    public var description: String { "the informer stopped before its first sync" }
}
