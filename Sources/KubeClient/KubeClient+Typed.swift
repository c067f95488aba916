import KubeModel
import NIOHTTP1
import WeftNet

/// Typed calls for any `KubeObject`.
extension KubeClient {
    /// `GET` one object.
    public func get<T: KubeObject>(_ type: T.Type, name: String, namespace: String? = nil) async throws -> T {
        let path = objectPath(T.resource, name: name, namespace: namespace)
        return try decode(T.self, try await send(.GET, path), .GET, path)
    }

    /// `GET` a collection: one namespace, or all (`namespace: nil`), optionally filtered.
    public func list<T: KubeObject>(
        _ type: T.Type, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil
    ) async throws -> ObjectList<T> {
        let path = T.resource.path(namespace: T.resource.namespaced ? namespace : nil)
        let query = Self.selectors(labelSelector, fieldSelector)
        return try decode(ObjectList<T>.self, try await send(.GET, path, query: query), .GET, path)
    }

    /// `POST` a new object; returns it as stored (uid, resourceVersion, …).
    public func create<T: KubeObject>(_ object: T, namespace: String? = nil) async throws -> T {
        let path = T.resource.path(namespace: resolvedNamespace(T.resource, namespace ?? object.metadata.namespace))
        return try decode(T.self, try await send(.POST, path, body: try Self.encode(object)), .POST, path)
    }

    /// `PUT` a changed object; the server refuses (409) when its resourceVersion is stale.
    public func update<T: KubeObject>(_ object: T) async throws -> T {
        let path = objectPath(T.resource, name: object.name, namespace: object.metadata.namespace)
        return try decode(T.self, try await send(.PUT, path, body: try Self.encode(object)), .PUT, path)
    }

    /// `PUT` the status subresource of an object.
    public func updateStatus<T: KubeObject>(_ object: T) async throws -> T {
        let path = objectPath(T.resource, name: object.name, namespace: object.metadata.namespace) + "/status"
        return try decode(T.self, try await send(.PUT, path, body: try Self.encode(object)), .PUT, path)
    }

    /// `PATCH` an object (or its status, with `subresource: "status"`).
    public func patch<T: KubeObject>(
        _ type: T.Type, name: String, namespace: String? = nil, type patchType: PatchType, body: JSONValue,
        subresource: String? = nil
    ) async throws -> T {
        var path = objectPath(T.resource, name: name, namespace: namespace)
        if let subresource { path += "/" + subresource }
        let response = try await send(
            .PATCH, path, body: try Self.encode(body), contentType: patchType.contentType)
        return try decode(T.self, response, .PATCH, path)
    }

    /// `DELETE` an object. Returns the object when the server answers with it (e.g. it still has finalizers and
    /// now carries a deletionTimestamp), `nil` when it answers with a Status.
    @discardableResult
    public func delete<T: KubeObject>(_ type: T.Type, name: String, namespace: String? = nil) async throws -> T? {
        let path = objectPath(T.resource, name: name, namespace: namespace)
        let response = try await send(.DELETE, path)
        let value = try decode(JSONValue.self, response, .DELETE, path)
        if value["kind"]?.stringValue == "Status" { return nil }
        return try decode(T.self, response, .DELETE, path)
    }

    // MARK: - Paths

    /// The namespace a single-object call uses: none for cluster-scoped kinds, else the given one or the default.
    func resolvedNamespace(_ resource: ResourceInfo, _ namespace: String?) -> String? {
        guard resource.namespaced else { return nil }
        if let namespace, !namespace.isEmpty { return namespace }
        return configuration.namespace
    }

    func objectPath(_ resource: ResourceInfo, name: String, namespace: String?) -> String {
        resource.path(namespace: resolvedNamespace(resource, namespace).map(Self.percentEncode)) + "/"
            + Self.percentEncode(name)
    }

    static func selectors(_ labelSelector: String?, _ fieldSelector: String?) -> [(String, String)] {
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        return query
    }
}
