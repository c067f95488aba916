import KubeModel
import NIOHTTP1
import WeftNet

/// Calls on any resource with objects as plain JSON: for manifests of kinds Weft does not model, or applied as-is.
extension KubeClient {
    /// `GET` one object.
    public func get(_ resource: ResourceInfo, name: String, namespace: String? = nil) async throws -> JSONValue {
        let path = objectPath(resource, name: name, namespace: namespace)
        return try decode(JSONValue.self, try await send(.GET, path), .GET, path)
    }

    /// `GET` a collection (a `…List` object with `items`).
    public func list(
        _ resource: ResourceInfo, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil
    ) async throws -> JSONValue {
        let path = resource.path(namespace: resource.namespaced ? namespace : nil)
        let query = Self.selectors(labelSelector, fieldSelector)
        return try decode(JSONValue.self, try await send(.GET, path, query: query), .GET, path)
    }

    /// `POST` an object; the namespace defaults to `metadata.namespace`, then the configuration's.
    public func create(_ resource: ResourceInfo, _ object: JSONValue, namespace: String? = nil) async throws
        -> JSONValue
    {
        let ns = resolvedNamespace(resource, namespace ?? object["metadata"]?["namespace"]?.stringValue)
        let path = resource.path(namespace: ns)
        return try decode(JSONValue.self, try await send(.POST, path, body: try Self.encode(object)), .POST, path)
    }

    /// `PUT` an object (named by its `metadata.name`).
    public func update(_ resource: ResourceInfo, _ object: JSONValue, namespace: String? = nil) async throws
        -> JSONValue
    {
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        let path = objectPath(
            resource, name: name, namespace: namespace ?? object["metadata"]?["namespace"]?.stringValue)
        return try decode(JSONValue.self, try await send(.PUT, path, body: try Self.encode(object)), .PUT, path)
    }

    /// `PATCH` an object.
    public func patch(
        _ resource: ResourceInfo, name: String, namespace: String? = nil, type patchType: PatchType, body: JSONValue,
        subresource: String? = nil
    ) async throws -> JSONValue {
        var path = objectPath(resource, name: name, namespace: namespace)
        if let subresource { path += "/" + subresource }
        let response = try await send(.PATCH, path, body: try Self.encode(body), contentType: patchType.contentType)
        return try decode(JSONValue.self, response, .PATCH, path)
    }

    /// `DELETE` an object; returns what the server answered (the object, or a Status). `options` is a meta/v1
    /// DeleteOptions body (`gracePeriodSeconds`, `preconditions`, `propagationPolicy`).
    @discardableResult
    public func delete(
        _ resource: ResourceInfo, name: String, namespace: String? = nil, options: JSONValue? = nil
    ) async throws -> JSONValue {
        let path = objectPath(resource, name: name, namespace: namespace)
        let body = options.map { $0.serialized() }
        let response = try await send(
            .DELETE, path, body: body, contentType: body == nil ? nil : "application/json")
        return try decode(JSONValue.self, response, .DELETE, path)
    }
}
