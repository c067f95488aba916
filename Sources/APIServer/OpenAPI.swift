import Crypto
import Foundation
import Hummingbird
import KubeModel
import WeftNet

/// The OpenAPI documents kubectl reads, generated from `Resources.all`: the v3 index (`/openapi/v3`), one v3
/// document per group version (`/openapi/v3/api/v1`, `/openapi/v3/apis/{group}/{version}`), and a v2 (Swagger)
/// document (`/openapi/v2`) in JSON or, when that is what the client asks for, as gnostic protobuf
/// (`OpenAPI+Protobuf`).
///
/// Schemas are shallow: every kind has `apiVersion`, `kind`, a full `ObjectMeta`, and its data fields (`spec`,
/// `status`, `data`, …) as objects with `x-kubernetes-preserve-unknown-fields`, so any value passes schema
/// validation and `kubectl explain` describes the top-level fields. Every PATCH operation declares the
/// `fieldValidation` query parameter, so kubectl (whose `--validate` defaults to `strict`) leaves validation of a
/// single object to the server (`fieldValidation=Strict`, which this server accepts and does not enforce).
///
/// A `kind: List` (what `kubectl get -o yaml` prints) is validated on the client all the same: kubectl's
/// `queryParamVerifierV3.HasSupport` (cli-runtime `resource/query_param_verifier_v3.go`) answers "unsupported" for
/// `v1/List` whatever the v3 documents say, so `paramVerifyingSchema.ValidateBytes` (kubectl `pkg/validation`)
/// runs `schemaValidation`, which fetches the protobuf v2 document — a 406 there fails the whole command — and
/// checks each item against the definition whose `x-kubernetes-group-version-kind` names the item's kind (an item
/// of a kind without one is not checked). Nothing in the v3 documents changes that, hence the protobuf v2 document,
/// with a definition for every kind. In v2, kube-openapi's validator (`pkg/util/proto/validation`) rejects unknown
/// fields of an object with `properties` (every kind's top-level fields are listed) and null members of a typed
/// map, so the free-form fields are published untyped there (`untypedFreeform`): any value passes.
///
/// PATCH operations do not declare strategic merge patch, so `kubectl apply` computes its patches from the types
/// compiled into kubectl for built-in kinds (and JSON merge patches for the others), which the server's strategic
/// merge patch matches.
enum OpenAPI {
    /// The media types a PATCH accepts, as declared to clients.
    static let declaredPatchTypes = ["application/json-patch+json", "application/merge-patch+json"]

    // MARK: Documents

    /// `/openapi/v3`: the group versions and the URL of each one's document (with a content hash).
    static func v3Index(_ resources: [ResourceInfo]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for (group, version) in groupVersions(resources) {
            let path = v3Path(group: group, version: version)
            let hash = contentHash(v3Document(group: group, version: version, resources) ?? .null)
            paths[path] = .object(["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(hash)")])
        }
        return .object(["paths": .object(paths)])
    }

    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`; nil for a group version not served.
    static func v3Document(group: String, version: String, _ resources: [ResourceInfo]) -> JSONValue? {
        let served = resources.filter { $0.group == group && $0.version == version }
        guard !served.isEmpty else { return nil }
        let reference = { (name: String) in "#/components/schemas/" + name }
        var schemas = sharedSchemas(reference: reference)
        var paths: [String: JSONValue] = [:]
        for resource in served {
            schemas[schemaName(resource)] = kindSchema(resource, reference: reference)
            schemas[schemaName(resource, list: true)] = listSchema(resource, reference: reference)
            for (path, item) in pathItems(resource, reference: reference, v3: true) { paths[path] = item }
        }
        return .object([
            "openapi": .string("3.0.0"),
            "info": .object(["title": .string("Kubernetes"), "version": .string(APIServer.gitVersion)]),
            "paths": .object(paths),
            "components": .object(["schemas": .object(schemas)]),
        ])
    }

    /// `/openapi/v2`: every kind in one Swagger 2.0 document.
    static func v2Document(_ resources: [ResourceInfo]) -> JSONValue {
        let reference = { (name: String) in "#/definitions/" + name }
        var definitions = sharedSchemas(reference: reference)
        var paths: [String: JSONValue] = [:]
        for resource in resources {
            definitions[schemaName(resource)] = kindSchema(resource, reference: reference)
            definitions[schemaName(resource, list: true)] = listSchema(resource, reference: reference)
            for (path, item) in pathItems(resource, reference: reference, v3: false) { paths[path] = item }
        }
        return .object([
            "swagger": .string("2.0"),
            "info": .object(["title": .string("Kubernetes"), "version": .string(APIServer.gitVersion)]),
            "paths": .object(paths),
            "definitions": untypedFreeform(.object(definitions)),
        ])
    }

    /// The schemas of a v2 document, where kubectl validates List items on the client: a schema with
    /// `x-kubernetes-preserve-unknown-fields` loses its `type`. kube-openapi (`pkg/util/proto/document.go`) reads an
    /// untyped schema without properties as `proto.Arbitrary`, which takes any value; typed `object`, it would be a
    /// `proto.Map` of arbitrary values, which rejects a null member (`mapItem.VisitMap` → `itemFactory(nil)`), where
    /// kube-apiserver's full schemas for these fields (`proto.Kind`s, whose `VisitKind` skips nulls) accept
    /// `spec: {selector: null}`. kube-apiserver drops the type of nullable fields for v2 the same way (apiextensions
    /// `ToStructuralOpenAPIV2`).
    static func untypedFreeform(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(var members):
            if members["x-kubernetes-preserve-unknown-fields"] == .bool(true) { members["type"] = nil }
            return .object(members.mapValues(untypedFreeform))
        case .array(let values):
            return .array(values.map(untypedFreeform))
        default:
            return schema
        }
    }

    /// The index key of a group version: `api/v1`, `apis/apps/v1`.
    static func v3Path(group: String, version: String) -> String {
        group.isEmpty ? "api/\(version)" : "apis/\(group)/\(version)"
    }

    /// Every served group version, core first, in `resources` order.
    static func groupVersions(_ resources: [ResourceInfo]) -> [(group: String, version: String)] {
        var result: [(group: String, version: String)] = []
        for resource in resources where !result.contains(where: { $0 == (resource.group, resource.version) }) {
            result.append((resource.group, resource.version))
        }
        return result
    }

    /// An uppercase hex SHA-256 of the document's JSON, as kube-apiserver puts in `serverRelativeURL`.
    static func contentHash(_ document: JSONValue) -> String {
        SHA256.hash(data: JSONCoding.encode(document)).map { String(format: "%02X", $0) }.joined()
    }

    // MARK: Schema names

    /// The definition name kube uses: `io.k8s.api.core.v1.Pod`, `io.k8s.api.apps.v1.Deployment`; reversed group for
    /// the kinds that are CRDs in Kubernetes (`io.k8s.networking.gateway.v1.Gateway`).
    static func schemaName(_ resource: ResourceInfo, list: Bool = false) -> String {
        let kind = resource.kind + (list ? "List" : "")
        let prefix: String
        switch resource.group {
        case "": prefix = "io.k8s.api.core"
        case "apps", "discovery.k8s.io", "networking.k8s.io":
            prefix = "io.k8s.api." + (resource.group.split(separator: ".").first.map(String.init) ?? resource.group)
        default: prefix = resource.group.split(separator: ".").reversed().joined(separator: ".")
        }
        return "\(prefix).\(resource.version).\(kind)"
    }

    static let objectMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    static let listMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
    static let statusName = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"

    // MARK: Schemas

    private static func gvk(_ resource: ResourceInfo, list: Bool = false) -> JSONValue {
        .object([
            "group": .string(resource.group), "version": .string(resource.version),
            "kind": .string(resource.kind + (list ? "List" : "")),
        ])
    }

    private static func string(_ description: String, format: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": .string("string"), "description": .string(description)]
        if let format { schema["format"] = .string(format) }
        return .object(schema)
    }

    private static func stringMap(_ description: String) -> JSONValue {
        .object([
            "type": .string("object"), "description": .string(description),
            "additionalProperties": .object(["type": .string("string"), "default": .string("")]),
        ])
    }

    /// An object whose content is not described: anything passes validation.
    private static func freeform(_ description: String) -> JSONValue {
        .object([
            "type": .string("object"), "description": .string(description),
            "x-kubernetes-preserve-unknown-fields": .bool(true),
        ])
    }

    private static func freeformArray(_ description: String) -> JSONValue {
        .object([
            "type": .string("array"), "description": .string(description),
            "items": .object(["type": .string("object"), "x-kubernetes-preserve-unknown-fields": .bool(true)]),
        ])
    }

    /// A reference wrapped as kube writes it (`allOf` so that the property can carry its own description).
    private static func ref(_ target: String, _ description: String) -> JSONValue {
        .object([
            "allOf": .array([.object(["$ref": .string(target)])]), "description": .string(description),
            "default": .object([:]),
        ])
    }

    static let apiVersionDescription =
        "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
        + "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
        + "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
    static let kindDescription =
        "Kind is a string value representing the REST resource this object represents. Servers may infer this from "
        + "the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
        + "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"

    /// ObjectMeta, ListMeta and Status.
    private static func sharedSchemas(reference: (String) -> String) -> [String: JSONValue] {
        let objectMeta: JSONValue = .object([
            "type": .string("object"),
            "description": .string(
                "ObjectMeta is metadata that all persisted resources must have, which includes all objects users "
                    + "must create."),
            "properties": .object([
                "name": string(
                    "Name must be unique within a namespace. Is required when creating resources, although some "
                        + "resources may allow a client to request the generation of an appropriate name "
                        + "automatically. Cannot be updated."),
                "generateName": string(
                    "GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the "
                        + "Name field has not been provided."),
                "namespace": string(
                    "Namespace defines the space within which each name must be unique. Not all objects are "
                        + "required to be scoped to a namespace."),
                "uid": string("UID is the unique in time and space value for this object. Populated by the system."),
                "resourceVersion": string(
                    "An opaque value that represents the internal version of this object, used for optimistic "
                        + "concurrency, change detection, and the watch operation. Populated by the system."),
                "generation": .object([
                    "type": .string("integer"), "format": .string("int64"),
                    "description": .string(
                        "A sequence number representing a specific generation of the desired state. Populated by "
                            + "the system."),
                ]),
                "creationTimestamp": string(
                    "CreationTimestamp is a timestamp representing the server time when this object was created. "
                        + "Populated by the system.", format: "date-time"),
                "deletionTimestamp": string(
                    "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. Set by the "
                        + "server when a graceful deletion is requested.", format: "date-time"),
                "deletionGracePeriodSeconds": .object([
                    "type": .string("integer"), "format": .string("int64"),
                    "description": .string(
                        "Number of seconds allowed for this object to gracefully terminate before it will be "
                            + "removed from the system."),
                ]),
                "labels": stringMap(
                    "Map of string keys and values that can be used to organize and categorize (scope and select) "
                        + "objects."),
                "annotations": stringMap(
                    "Annotations is an unstructured key value map stored with a resource that may be set by "
                        + "external tools to store and retrieve arbitrary metadata."),
                "finalizers": .object([
                    "type": .string("array"),
                    "description": .string(
                        "Must be empty before the object is deleted from the registry. Each entry is an identifier "
                            + "for the responsible component that will remove the entry from the list."),
                    "items": .object(["type": .string("string"), "default": .string("")]),
                ]),
                "ownerReferences": freeformArray(
                    "List of objects depended by this object. If ALL objects in the list have been deleted, this "
                        + "object will be garbage collected."),
                "managedFields": freeformArray(
                    "ManagedFields maps workflow-id and version to the set of fields that are managed by that "
                        + "workflow."),
            ]),
        ])
        let listMeta: JSONValue = .object([
            "type": .string("object"),
            "description": .string(
                "ListMeta describes metadata that synthetic resources must have, including lists and various status "
                    + "objects."),
            "properties": .object([
                "resourceVersion": string(
                    "String that identifies the server's internal version of this object that can be used by "
                        + "clients to determine when objects have changed."),
                "continue": string("continue may be set if the user set a limit on the number of items returned."),
                "remainingItemCount": .object([
                    "type": .string("integer"), "format": .string("int64"),
                    "description": .string("The number of subsequent items in the list which are not included."),
                ]),
            ]),
        ])
        let status: JSONValue = .object([
            "type": .string("object"),
            "description": .string("Status is a return value for calls that don't return other objects."),
            "properties": .object([
                "apiVersion": string(apiVersionDescription),
                "kind": string(kindDescription),
                "metadata": ref(reference(listMetaName), "Standard list metadata."),
                "status": string("Status of the operation. One of: \"Success\" or \"Failure\"."),
                "message": string("A human-readable description of the status of this operation."),
                "reason": string("A machine-readable description of why this operation is in the \"Failure\" status."),
                "details": freeform("Extended data associated with the reason."),
                "code": .object([
                    "type": .string("integer"), "format": .string("int32"),
                    "description": .string("Suggested HTTP return code for this status, 0 if not set."),
                ]),
            ]),
            "x-kubernetes-group-version-kind": .array([
                .object(["group": .string(""), "version": .string("v1"), "kind": .string("Status")])
            ]),
        ])
        return [objectMetaName: objectMeta, listMetaName: listMeta, statusName: status]
    }

    /// The data fields of a kind (beyond apiVersion, kind and metadata).
    static func dataFields(_ resource: ResourceInfo) -> [String: JSONValue] {
        let spec = freeform(
            "Spec defines the desired behavior of the \(resource.kind). More info: "
                + "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
                + "#spec-and-status")
        let status = freeform(
            "Most recently observed status of the \(resource.kind). Populated by the system. Read-only. More info: "
                + "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
                + "#spec-and-status")
        let immutable: JSONValue = .object([
            "type": .string("boolean"),
            "description": .string(
                "Immutable, if set to true, ensures that data stored in the \(resource.kind) cannot be updated (only "
                    + "object metadata can be modified)."),
        ])
        switch (resource.group, resource.kind) {
        case ("", "ConfigMap"):
            return [
                "data": stringMap(
                    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', "
                        + "'_' or '.'."),
                "binaryData": .object([
                    "type": .string("object"),
                    "description": .string("BinaryData contains the binary data, base64-encoded."),
                    "additionalProperties": .object(["type": .string("string"), "format": .string("byte")]),
                ]),
                "immutable": immutable,
            ]
        case ("", "Secret"):
            return [
                "data": .object([
                    "type": .string("object"),
                    "description": .string(
                        "Data contains the secret data. The serialized form of the secret data is a base64 encoded "
                            + "string."),
                    "additionalProperties": .object(["type": .string("string"), "format": .string("byte")]),
                ]),
                "stringData": stringMap(
                    "stringData allows specifying non-binary secret data in string form. It is provided as a "
                        + "write-only input field for convenience, merged into the data field on write."),
                "type": string("Used to facilitate programmatic handling of secret data."),
                "immutable": immutable,
            ]
        case ("discovery.k8s.io", "EndpointSlice"):
            return [
                "addressType": string(
                    "addressType specifies the type of address carried by this EndpointSlice: IPv4, IPv6 or FQDN."),
                "endpoints": freeformArray("endpoints is a list of unique endpoints in this slice."),
                "ports": freeformArray("ports specifies the list of network ports exposed by each endpoint."),
            ]
        case ("", "Event"):
            return [
                "involvedObject": freeform("The object that this event is about."),
                "reason": string(
                    "This should be a short, machine understandable string that gives the reason for the transition "
                        + "into the object's current status."),
                "message": string("A human-readable description of the status of this operation."),
                "type": string("Type of this event (Normal, Warning), new types could be added in the future"),
                "source": freeform(
                    "The component reporting this event. Should be a short machine understandable string."),
                "firstTimestamp": string(
                    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
                    format: "date-time"),
                "lastTimestamp": string(
                    "The time at which the most recent occurrence of this event was recorded.", format: "date-time"),
                "count": .object([
                    "type": .string("integer"), "format": .string("int32"),
                    "description": .string("The number of times this event has occurred."),
                ]),
                "eventTime": string("Time when this Event was first observed.", format: "date-time"),
                "action": string("What action was taken/failed regarding to the Regarding object."),
                "reportingComponent": string(
                    "Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`."),
                "reportingInstance": string("ID of the controller instance, e.g. `kubelet-xyzf`."),
                "related": freeform("Optional secondary object for more complex actions."),
                "series": freeform(
                    "Data about the Event series this event represents or nil if it's a singleton Event."),
            ]
        case ("networking.k8s.io", "NetworkPolicy"), ("networking.k8s.io", "IngressClass"),
            ("k8s.cni.cncf.io", "NetworkAttachmentDefinition"):
            return ["spec": spec]
        default:
            return ["spec": spec, "status": status]
        }
    }

    private static func kindSchema(_ resource: ResourceInfo, reference: (String) -> String) -> JSONValue {
        var properties = dataFields(resource)
        properties["apiVersion"] = string(apiVersionDescription)
        properties["kind"] = string(kindDescription)
        properties["metadata"] = ref(
            reference(objectMetaName),
            "Standard object's metadata. More info: "
                + "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
        return .object([
            "type": .string("object"),
            "description": .string(
                "\(resource.kind) (\(resource.apiVersion), \(resource.namespaced ? "namespaced" : "cluster-scoped"))"
                    + " as served by Weft."),
            "properties": .object(properties),
            "x-kubernetes-group-version-kind": .array([gvk(resource)]),
        ])
    }

    private static func listSchema(_ resource: ResourceInfo, reference: (String) -> String) -> JSONValue {
        .object([
            "type": .string("object"),
            "description": .string("\(resource.kind)List is a list of \(resource.kind) objects."),
            "required": .array([.string("items")]),
            "properties": .object([
                "apiVersion": string(apiVersionDescription),
                "kind": string(kindDescription),
                "metadata": ref(reference(listMetaName), "Standard list metadata."),
                "items": .object([
                    "type": .string("array"), "description": .string("List of \(resource.plural)."),
                    "items": ref(reference(schemaName(resource)), ""),
                ]),
            ]),
            "x-kubernetes-group-version-kind": .array([gvk(resource, list: true)]),
        ])
    }

    // MARK: Paths

    private static func queryParameter(_ name: String, _ description: String, v3: Bool) -> JSONValue {
        var parameter: [String: JSONValue] = [
            "name": .string(name), "in": .string("query"), "description": .string(description),
            "uniqueItems": .bool(true),
        ]
        if v3 {
            parameter["schema"] = .object(["type": .string("string")])
        } else {
            parameter["type"] = .string("string")
        }
        return .object(parameter)
    }

    private static func pathParameter(_ name: String, v3: Bool) -> JSONValue {
        var parameter: [String: JSONValue] = [
            "name": .string(name), "in": .string("path"), "required": .bool(true),
            "description": .string("\(name) of the \(name == "namespace" ? "Namespace" : "object")"),
        ]
        if v3 {
            parameter["schema"] = .object(["type": .string("string")])
        } else {
            parameter["type"] = .string("string")
        }
        return .object(parameter)
    }

    static let fieldValidationDescription =
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing "
        + "unknown or duplicate fields. Valid values are: Ignore, Warn, Strict. This server accepts every value and "
        + "keeps unknown fields."

    /// Path items of one resource: collection, object and (when it has one) the status subresource.
    private static func pathItems(
        _ resource: ResourceInfo, reference: (String) -> String, v3: Bool
    ) -> [(String, JSONValue)] {
        let base = resource.group.isEmpty ? "/api/\(resource.version)" : "/apis/\(resource.group)/\(resource.version)"
        let collection =
            resource.namespaced ? "\(base)/namespaces/{namespace}/\(resource.plural)" : "\(base)/\(resource.plural)"
        let kindRef = reference(schemaName(resource))
        let listRef = reference(schemaName(resource, list: true))
        let tag = resource.group.isEmpty ? "core_\(resource.version)" : "\(resource.group)_\(resource.version)"

        func operation(
            _ action: String, _ id: String, responseRef: String, body: [String]? = nil, extra: [JSONValue] = []
        ) -> JSONValue {
            var parameters = extra
            if body != nil {
                parameters.append(
                    queryParameter(
                        "dryRun", "When present, indicates that modifications should not be persisted.", v3: v3))
                parameters.append(
                    queryParameter(
                        "fieldManager", "fieldManager is a name associated with the actor making these changes.", v3: v3
                    ))
                parameters.append(queryParameter("fieldValidation", fieldValidationDescription, v3: v3))
            }
            var op: [String: JSONValue] = [
                "operationId": .string(id + resource.kind), "tags": .array([.string(tag)]),
                "description": .string("\(action) \(resource.kind)"),
                "x-kubernetes-action": .string(action),
                "x-kubernetes-group-version-kind": gvk(resource),
            ]
            if !parameters.isEmpty { op["parameters"] = .array(parameters) }
            if v3 {
                op["responses"] = .object([
                    "200": .object([
                        "description": .string("OK"),
                        "content": .object([
                            "application/json": .object(["schema": .object(["$ref": .string(responseRef)])])
                        ]),
                    ])
                ])
                if let body {
                    var content: [String: JSONValue] = [:]
                    for type in body { content[type] = .object(["schema": .object(["$ref": .string(kindRef)])]) }
                    op["requestBody"] = .object(["content": .object(content), "required": .bool(true)])
                }
            } else {
                op["responses"] = .object([
                    "200": .object(["description": .string("OK"), "schema": .object(["$ref": .string(responseRef)])])
                ])
                if let body {
                    op["consumes"] = .array(body.map(JSONValue.string))
                    op["parameters"] = .array(
                        parameters + [
                            .object([
                                "name": .string("body"), "in": .string("body"), "required": .bool(true),
                                "schema": .object(["$ref": .string(kindRef)]),
                            ])
                        ])
                }
            }
            return .object(op)
        }

        let scope: [JSONValue] = resource.namespaced ? [pathParameter("namespace", v3: v3)] : []
        let named = scope + [pathParameter("name", v3: v3)]
        var items: [(String, JSONValue)] = []
        items.append(
            (
                collection,
                .object([
                    "get": operation("list", "list", responseRef: listRef),
                    "post": operation("post", "create", responseRef: kindRef, body: ["application/json"]),
                    "delete": operation("deletecollection", "deleteCollection", responseRef: reference(statusName)),
                    "parameters": .array(scope),
                ])
            ))
        items.append(
            (
                collection + "/{name}",
                .object([
                    "get": operation("get", "read", responseRef: kindRef),
                    "put": operation("put", "replace", responseRef: kindRef, body: ["application/json"]),
                    "patch": operation("patch", "patch", responseRef: kindRef, body: declaredPatchTypes),
                    "delete": operation("delete", "delete", responseRef: kindRef),
                    "parameters": .array(named),
                ])
            ))
        if ResourceRules.hasStatus(resource) {
            items.append(
                (
                    collection + "/{name}/status",
                    .object([
                        "get": operation("get", "readStatus", responseRef: kindRef),
                        "put": operation("put", "replaceStatus", responseRef: kindRef, body: ["application/json"]),
                        "patch": operation("patch", "patchStatus", responseRef: kindRef, body: declaredPatchTypes),
                        "parameters": .array(named),
                    ])
                ))
        }
        if resource.namespaced {
            items.append(
                (
                    "\(base)/\(resource.plural)",
                    .object(["get": operation("list", "listForAllNamespaces", responseRef: listRef)])
                ))
        }
        return items
    }
}

extension OpenAPI {
    /// Answers `/openapi/v2`, `/openapi/v3` and `/openapi/v3/{api/v1 | apis/group/version}` (`segments` start with
    /// `openapi`). v2 is served as JSON or protobuf, as `Accept` prefers; a client accepting neither gets 406 Not
    /// Acceptable.
    static func response(segments: [String], accept: String?, _ resources: [ResourceInfo]) throws -> Response {
        switch Array(segments.dropFirst()) {
        case ["v2"]:
            switch v2Format(accept) {
            case .json:
                return APIHandler.json(v2Document(resources))
            case .protobuf:
                return Response(
                    status: .ok, headers: [.contentType: v2ProtobufContentType],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: v2Protobuf(v2Document(resources)))))
            case nil:
                throw Status(
                    code: 406, reason: "NotAcceptable",
                    message: "only the following media types are accepted: "
                        + (["application/json"] + v2ProtobufMediaTypes).joined(separator: ", "))
            }
        case ["v3"]:
            return APIHandler.json(v3Index(resources))
        case let rest where rest.first == "v3":
            let path = rest.dropFirst().joined(separator: "/")
            for (group, version) in groupVersions(resources) where v3Path(group: group, version: version) == path {
                if let document = v3Document(group: group, version: version, resources) {
                    return APIHandler.json(document)
                }
            }
            throw Status.resourceNotFound()
        default:
            throw Status.resourceNotFound()
        }
    }

    /// How the v2 document is sent.
    enum V2Format: Equatable {
        case json
        /// Gnostic protobuf (`v2Protobuf`).
        case protobuf
    }

    /// The format an Accept header prefers for `/openapi/v2`: JSON for no header, `*/*`, `application/*` or
    /// `application/json`, protobuf for one of `v2ProtobufMediaTypes`; the highest `q` wins, then the earliest (as
    /// kube-openapi's handler, through goautoneg, decides). nil when it accepts neither.
    static func v2Format(_ accept: String?) -> V2Format? {
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return .json }
        var ranges: [(type: String, quality: Double)] = []
        for clause in accept.split(separator: ",") {
            let parts = clause.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if quality > 0, let type = parts.first?.lowercased() { ranges.append((type, quality)) }
        }
        // Highest quality first; equal qualities keep the client's order.
        let order = ranges.indices.sorted { a, b in
            ranges[a].quality != ranges[b].quality ? ranges[a].quality > ranges[b].quality : a < b
        }
        for range in order.map({ ranges[$0] }) {
            if ["*/*", "application/*", "application/json"].contains(range.type) { return .json }
            if v2ProtobufMediaTypes.contains(range.type) { return .protobuf }
        }
        return nil
    }
}
