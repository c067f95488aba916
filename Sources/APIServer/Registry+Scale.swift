import Foundation
import KubeModel
import WeftNet

/// The `/scale` subresource of the kinds in `ResourceRules.withScale` (`kubectl scale`): an autoscaling/v1 `Scale`
/// showing the object's `spec.replicas`, `status.replicas` and label selector; writing one changes only the
/// object's `spec.replicas`, through the same update path as a PUT (so `metadata.generation` moves and a stale
/// `resourceVersion` is a conflict).
extension Registry {
    /// What a `Scale` is to messages and discovery.
    static let scaleResource = ResourceInfo(
        group: "autoscaling", version: "v1", kind: "Scale", plural: "scale", namespaced: true)

    /// GET on `/scale`.
    func scale(_ resource: ResourceInfo, namespace: String?, name: String) async throws -> JSONValue {
        Self.scaleObject(try await get(resource, namespace: namespace, name: name))
    }

    /// PUT on `/scale`.
    func updateScale(
        _ resource: ResourceInfo, namespace: String?, name: String, body: JSONValue
    ) async throws -> JSONValue {
        try await store.transaction { tx in
            guard let old = try tx.get(resource, namespace: namespace, name: name) else {
                throw Status.notFound(resource, name: name)
            }
            return try Self.applyScale(&tx, resource, namespace: namespace, old: old, scale: body, admission: admission)
        }
    }

    /// PATCH on `/scale`: the patch applies to the `Scale`, as kube-apiserver does it.
    func patchScale(
        _ resource: ResourceInfo, namespace: String?, name: String, kind: Patching.Kind, patch: JSONValue
    ) async throws -> JSONValue {
        try await store.transaction { tx in
            guard let old = try tx.get(resource, namespace: namespace, name: name) else {
                throw Status.notFound(resource, name: name)
            }
            let patched = try Self.applyPatch(kind, patch, to: Self.scaleObject(old))
            return try Self.applyScale(
                &tx, resource, namespace: namespace, old: old, scale: patched, admission: admission)
        }
    }

    /// The `Scale` of an object: `status.selector` is the label selector in its string form.
    static func scaleObject(_ object: JSONValue) -> JSONValue {
        var metadata: [String: JSONValue] = [:]
        for key in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            metadata[key] = object["metadata"]?[key]
        }
        var status: [String: JSONValue] = ["replicas": object["status"]?["replicas"] ?? .number(0)]
        if let selector = object["spec"]?["selector"],
            let decoded = try? selector.decoded(as: LabelSelector.self)
        {
            status["selector"] = .string(decoded.description)
        }
        return .object([
            "apiVersion": .string(scaleResource.apiVersion), "kind": .string(scaleResource.kind),
            "metadata": .object(metadata),
            "spec": .object(["replicas": object["spec"]?["replicas"] ?? .number(1)]), "status": .object(status),
        ])
    }

    /// Writes a `Scale` to `old`: its `spec.replicas` (an integer ≥ 0) and, for the concurrency check, its
    /// `metadata.resourceVersion`. Returns the new `Scale`.
    private static func applyScale(
        _ tx: inout ObjectStore.Transaction, _ resource: ResourceInfo, namespace: String?, old: JSONValue,
        scale: JSONValue, admission: Admission
    ) throws -> JSONValue {
        let name = old.metadataString("name") ?? ""
        let checked = try checkedBody(scaleResource, scale)
        if let bodyName = checked.metadataString("name"), bodyName != name {
            throw Status.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let replicas = checked["spec"]?["replicas"] ?? .number(0)
        guard let count = replicas.int64Value, count >= 0, count <= Int64(Int32.max) else {
            let shown = JSONCoding.encodeString(replicas)
            throw Status.invalid(
                scaleResource, name: name,
                causes: [
                    Status.Cause(
                        reason: "FieldValueInvalid",
                        message: "Invalid value: \(shown): must be an integer greater than or equal to 0",
                        field: "spec.replicas")
                ])
        }
        var object = old
        object.setValue(.number(Double(count)), at: ["spec", "replicas"])
        object.setValue(checked["metadata"]?["resourceVersion"], at: ["metadata", "resourceVersion"])
        let stored = try applyUpdate(
            &tx, resource, namespace: namespace, old: old, new: object, status: false, admission: admission)
        return scaleObject(stored)
    }
}
