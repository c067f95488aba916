import KubeModel

/// A namespaced object's `namespace/name`, ordered alphabetically as Gateway API's tie-break orders routes.
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// The key of an object's metadata (`default` when the namespace is absent).
    public init(_ metadata: ObjectMeta) {
        self.init(namespace: metadata.namespace ?? "default", name: metadata.name ?? "")
    }

    public static func < (l: Self, r: Self) -> Bool { (l.namespace, l.name) < (r.namespace, r.name) }

    public var description: String { "\(namespace)/\(name)" }
}
