import WeftNet

/// Where a kind lives in the API: `GET /apis/{group}/{version}/namespaces/{ns}/{plural}` (core group: `/api/v1`).
public struct ResourceInfo: Sendable, Hashable {
    /// API group; empty for the core group.
    public var group: String
    public var version: String
    public var kind: String
    /// Lower-case plural used in URLs (`pods`, `endpointslices`).
    public var plural: String
    public var namespaced: Bool
    public var shortNames: [String]

    public init(
        group: String, version: String, kind: String, plural: String, namespaced: Bool, shortNames: [String] = []
    ) {
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced
        self.shortNames = shortNames
    }

    /// `v1` or `apps/v1`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// The collection path, for a namespace or across all namespaces (`nil`).
    public func path(namespace: String?) -> String {
        let base = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { return "\(base)/namespaces/\(namespace)/\(plural)" }
        return "\(base)/\(plural)"
    }
}

/// A top-level Kubernetes object: `apiVersion`, `kind`, `metadata`, and the kind's own fields.
///
/// Conforming types are Codable with the API's JSON field names. Every modelled struct keeps the keys it does not
/// model (see `UnknownFields`), so a read-modify-write round trip loses nothing.
public protocol KubeObject: Codable, Sendable, Hashable {
    static var resource: ResourceInfo { get }
    var metadata: ObjectMeta { get set }
}

extension KubeObject {
    public var name: String { metadata.name ?? "" }
    public var namespace: String? { metadata.namespace }
}
