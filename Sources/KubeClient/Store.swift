import KubeModel
import Synchronization

/// A thread-safe cache of objects of one kind, indexed by namespace and name: what an `Informer` has seen.
///
/// Cluster-scoped objects live under the namespace `nil`.
public final class Store<T: KubeObject>: Sendable {
    /// namespace ("" for cluster-scoped) → name → object.
    private let objects = Mutex<[String: [String: T]]>([:])

    public init() {}

    /// The object with this namespace and name.
    public func get(namespace: String?, name: String) -> T? {
        objects.withLock { $0[namespace ?? ""]?[name] }
    }

    /// The objects of one namespace (`nil`: cluster-scoped objects), sorted by name.
    public func list(namespace: String?) -> [T] {
        objects.withLock { all in
            (all[namespace ?? ""] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
        }
    }

    /// All objects, sorted by namespace, then name.
    public func list() -> [T] {
        objects.withLock { all in
            all.sorted { $0.key < $1.key }.flatMap { $0.value.sorted { $0.key < $1.key }.map(\.value) }
        }
    }

    /// The namespaces that hold at least one object (cluster-scoped objects: "").
    public var namespaces: [String] {
        objects.withLock { $0.keys.sorted() }
    }

    public var count: Int {
        objects.withLock { $0.values.reduce(0) { $0 + $1.count } }
    }

    /// Stores an object; returns the one it replaced.
    @discardableResult
    func upsert(_ object: T) -> T? {
        objects.withLock { $0[object.metadata.namespace ?? "", default: [:]].updateValue(object, forKey: object.name) }
    }

    /// Removes an object; returns it.
    @discardableResult
    func remove(namespace: String?, name: String) -> T? {
        objects.withLock { all in
            let ns = namespace ?? ""
            let old = all[ns]?.removeValue(forKey: name)
            if all[ns]?.isEmpty == true { all[ns] = nil }
            return old
        }
    }
}
