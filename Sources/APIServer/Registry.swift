import Foundation
import KubeModel
import WeftNet

/// Kubernetes REST semantics over the `ObjectStore`, for any kind, on JSON objects: create (generateName, uid,
/// timestamps, namespace checks), update with optimistic concurrency, the `/status` subresource, patches, deletion
/// with finalizers, and selectors. Every operation that writes runs in one store transaction.
///
/// Errors are thrown as meta/v1 `Status` values with kube-apiserver's codes, reasons and messages.
struct Registry: Sendable {
    let store: ObjectStore
    /// Allocations made inside writes (Service IPs and ports, Node pod CIDRs).
    var admission = Admission()
    /// Whether deleting a pod bound to a node only marks it, for its kubelet to stop it and then delete it (see
    /// `APIServerConfiguration.gracefulPodDeletion`).
    var gracefulPodDeletion = false

    /// Namespaces that exist from the start and cannot be deleted.
    static let systemNamespaces = ["default", "kube-system", "kube-public"]

    /// Creates the system namespaces when missing.
    func bootstrap() async throws {
        for name in Self.systemNamespaces {
            guard try await store.get(Resources.namespace, namespace: nil, name: name) == nil else { continue }
            let body: JSONValue = .object([
                "apiVersion": .string("v1"), "kind": .string("Namespace"), "metadata": .object(["name": .string(name)]),
            ])
            _ = try await create(Resources.namespace, namespace: nil, body: body)
        }
    }

    // MARK: Reads

    func get(_ resource: ResourceInfo, namespace: String?, name: String) async throws -> JSONValue {
        guard let object = try await store.get(resource, namespace: namespace, name: name) else {
            throw Status.notFound(resource, name: name)
        }
        return object
    }

    func list(
        _ resource: ResourceInfo, namespace: String?, filter: ObjectFilter, options: ListOptions = ListOptions()
    ) async throws -> JSONValue {
        var (items, rv) = try await store.list(resource, namespace: namespace)
        if let wanted = options.resourceVersion, options.continueFrom == nil {
            if wanted > rv {
                // NotOlderThan (or Exact) a version not reached yet: wait a little, as kube-apiserver's watch cache
                // does (3 s), then 504.
                let deadline = ContinuousClock.now + .seconds(3)
                while rv < wanted, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    (items, rv) = try await store.list(resource, namespace: namespace)
                }
                if rv < wanted { throw Status.tooLargeResourceVersion(requested: wanted, current: rv) }
            }
            if options.exact && wanted != rv {
                throw Status.expired(requested: wanted, oldest: rv)
            }
        }
        let (page, metadata) = options.page(items.filter(filter.matches), resourceVersion: rv)
        return .object([
            "apiVersion": .string(resource.apiVersion), "kind": .string(resource.kind + "List"), "metadata": metadata,
            "items": .array(page),
        ])
    }

    static func listObject(_ resource: ResourceInfo, items: [JSONValue], resourceVersion: Int64) -> JSONValue {
        .object([
            "apiVersion": .string(resource.apiVersion), "kind": .string(resource.kind + "List"),
            "metadata": .object(["resourceVersion": .string(String(resourceVersion))]), "items": .array(items),
        ])
    }

    // MARK: Create

    /// POST on a collection. Returns the stored object.
    func create(_ resource: ResourceInfo, namespace: String?, body: JSONValue) async throws -> JSONValue {
        var object = try Self.checkedBody(resource, body)
        object = try Self.placeNamespace(resource, object, namespace: namespace)
        if let rv = object.metadataString("resourceVersion"), !rv.isEmpty {
            throw Status.badRequest("resourceVersion should not be set on objects to be created")
        }
        let name = object.metadataString("name") ?? ""
        let generateName = object.metadataString("generateName") ?? ""
        if name.isEmpty && generateName.isEmpty {
            throw Status.invalid(
                resource, name: "",
                causes: [
                    Status.Cause(
                        reason: "FieldValueRequired", message: "Required value: name or generateName is required",
                        field: "metadata.name")
                ])
        }
        if !name.isEmpty { try Self.validateName(resource, name) }
        if name.isEmpty {
            // Validate the prefix with a sample suffix, as kube validates the generated name.
            try Self.validateName(resource, generateName + "abcde", shown: generateName, field: "metadata.generateName")
        }
        object = Self.prepareForCreate(resource, object)
        try Validation.validate(resource, object)
        let prepared = object
        return try await store.transaction { tx in
            if resource.namespaced, let namespace {
                guard let ns = try tx.get(Resources.namespace, namespace: nil, name: namespace) else {
                    throw Status.notFound(Resources.namespace, name: namespace)
                }
                if ns.metadataString("deletionTimestamp") != nil {
                    throw Status(
                        code: 403, reason: "Forbidden",
                        message: "\(Status.qualified(resource)) \"\(name)\" is forbidden: unable to create new "
                            + "content in namespace \(namespace) because it is being terminated")
                }
            }
            var object = prepared
            var finalName = name
            if finalName.isEmpty {
                var attempts = 0
                repeat {
                    finalName = generateName + Self.randomSuffix()
                    attempts += 1
                } while try tx.get(resource, namespace: namespace, name: finalName) != nil && attempts < 8
                object.setValue(.string(finalName), at: ["metadata", "name"])
                if resource.storageKey == "/namespaces" {
                    object.setValue(.string(finalName), at: ["metadata", "labels", "kubernetes.io/metadata.name"])
                }
            }
            if try tx.get(resource, namespace: namespace, name: finalName) != nil {
                throw Status.alreadyExists(resource, name: finalName)
            }
            object = try admission.admit(&tx, resource, namespace: namespace, old: nil, new: object)
            return try tx.put(resource, namespace: namespace, name: finalName, object: object, old: nil)
        }
    }

    /// Server-set fields of a new object (also of the pods the workload controllers create).
    static func prepareForCreate(_ resource: ResourceInfo, _ body: JSONValue) -> JSONValue {
        var object = Defaulting.apply(resource, body)
        object.setValue(.string(UUID().uuidString.lowercased()), at: ["metadata", "uid"])
        object.setValue(.string(timestamp()), at: ["metadata", "creationTimestamp"])
        object.setValue(.number(1), at: ["metadata", "generation"])
        object.setValue(nil, at: ["metadata", "deletionTimestamp"])
        object.setValue(nil, at: ["metadata", "deletionGracePeriodSeconds"])
        object.setValue(nil, at: ["metadata", "resourceVersion"])
        switch resource.storageKey {
        case "/namespaces":
            if let name = object.metadataString("name"), !name.isEmpty {
                object.setValue(.string(name), at: ["metadata", "labels", "kubernetes.io/metadata.name"])
            }
            object.setValue(.array([.string("kubernetes")]), at: ["spec", "finalizers"])
            object.setValue(.object(["phase": .string("Active")]), at: ["status"])
        case "/pods":
            object.setValue(.object(["phase": .string("Pending")]), at: ["status"])
        case "/services":
            object.setValue(.object(["loadBalancer": .object([:])]), at: ["status"])
        case "/nodes":
            break  // a node registers itself with its status
        default:
            if ResourceRules.hasStatus(resource) { object.setValue(nil, at: ["status"]) }
        }
        return object
    }

    // MARK: Update and patch

    /// PUT on an object (or on its `/status` when `status` is true).
    func update(
        _ resource: ResourceInfo, namespace: String?, name: String, body: JSONValue, status: Bool
    ) async throws -> JSONValue {
        var object = try Self.checkedBody(resource, body)
        object = try Self.placeNamespace(resource, object, namespace: namespace)
        let bodyName = object.metadataString("name") ?? ""
        if bodyName != name {
            throw Status.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let newObject = object
        return try await store.transaction { tx in
            guard let old = try tx.get(resource, namespace: namespace, name: name) else {
                throw Status.notFound(resource, name: name)
            }
            return try Self.applyUpdate(
                &tx, resource, namespace: namespace, old: old, new: newObject, status: status, admission: admission)
        }
    }

    /// PATCH on an object (or on its `/status`).
    func patch(
        _ resource: ResourceInfo, namespace: String?, name: String, kind: Patching.Kind, patch: JSONValue,
        status: Bool
    ) async throws -> JSONValue {
        try await store.transaction { tx in
            guard let old = try tx.get(resource, namespace: namespace, name: name) else {
                throw Status.notFound(resource, name: name)
            }
            let patched = try Self.applyPatch(kind, patch, to: old)
            var object = try Self.checkedBody(resource, patched)
            object = try Self.placeNamespace(resource, object, namespace: namespace)
            let patchedName = object.metadataString("name") ?? ""
            if patchedName != name {
                throw Status.badRequest(
                    "the name of the object (\(patchedName)) does not match the name on the URL (\(name))")
            }
            return try Self.applyUpdate(
                &tx, resource, namespace: namespace, old: old, new: object, status: status, admission: admission)
        }
    }

    /// `target` with a patch of `kind` applied; a patch that does not apply is a 422.
    static func applyPatch(_ kind: Patching.Kind, _ patch: JSONValue, to target: JSONValue) throws -> JSONValue {
        do {
            switch kind {
            case .merge:
                guard case .object = patch else { throw Patching.Failure(message: "a merge patch must be an object") }
                return Patching.mergePatch(target, patch)
            case .json:
                return try Patching.jsonPatch(target, patch)
            case .strategic:
                guard case .object = patch else {
                    throw Patching.Failure(message: "a strategic merge patch must be an object")
                }
                return try Patching.strategicMergePatch(target, patch)
            }
        } catch let failure as Patching.Failure {
            throw Status(code: 422, reason: "Invalid", message: failure.message)
        }
    }

    /// The common end of update and patch: concurrency check, status handling, server-owned metadata, generation,
    /// finalizers; writes only when something changed.
    static func applyUpdate(
        _ tx: inout ObjectStore.Transaction, _ resource: ResourceInfo, namespace: String?, old: JSONValue,
        new: JSONValue, status: Bool, admission: Admission
    ) throws -> JSONValue {
        let name = old.metadataString("name") ?? ""
        if let rv = new.metadataString("resourceVersion"), !rv.isEmpty, rv != old.metadataString("resourceVersion") {
            throw Status.conflict(resource, name: name)
        }
        var object: JSONValue
        if status {
            object = old
            object.setValue(new["status"], at: ["status"])
        } else {
            object = Defaulting.apply(resource, new)
            if ResourceRules.hasStatus(resource) { object.setValue(old["status"], at: ["status"]) }
            try validateName(resource, name)
            try Validation.validate(resource, object)
        }
        for key in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
            object.setValue(old["metadata"]?[key], at: ["metadata", key])
        }
        object.setValue(old["metadata"]?["resourceVersion"], at: ["metadata", "resourceVersion"])
        if resource.storageKey == "/namespaces" {
            object.setValue(.string(name), at: ["metadata", "labels", "kubernetes.io/metadata.name"])
        }
        if !status { object = try admission.admit(&tx, resource, namespace: namespace, old: old, new: object) }
        if specChanged(old, object) {
            let generation = old["metadata"]?["generation"]?.int64Value ?? 0
            object.setValue(.number(Double(generation + 1)), at: ["metadata", "generation"])
        }
        let finalizers = object["metadata"]?["finalizers"]?.arrayValue ?? []
        if object.metadataString("deletionTimestamp") != nil && finalizers.isEmpty {
            return try tx.delete(resource, namespace: namespace, name: name, old: object)
        }
        if object == old { return old }
        return try tx.put(resource, namespace: namespace, name: name, object: object, old: old)
    }

    /// Whether anything outside `metadata` and `status` changed (what bumps `metadata.generation`).
    private static func specChanged(_ old: JSONValue, _ new: JSONValue) -> Bool {
        func strip(_ value: JSONValue) -> JSONValue {
            var copy = value
            for key in ["metadata", "status", "kind", "apiVersion"] { copy[key] = nil }
            return copy
        }
        return strip(old) != strip(new)
    }

    // MARK: Delete

    /// DELETE on an object. With finalizers the object is only marked (`deletionTimestamp`) and stays until an
    /// update clears them. Deleting a namespace deletes everything in it.
    func delete(
        _ resource: ResourceInfo, namespace: String?, name: String, options: JSONValue?
    ) async throws -> JSONValue {
        if resource.storageKey == "/namespaces", Self.systemNamespaces.contains(name) {
            throw Status(
                code: 403, reason: "Forbidden",
                message: "namespaces \"\(name)\" is forbidden: this namespace may not be deleted",
                details: Status.Details(name: name, kind: "namespaces"))
        }
        return try await store.transaction { tx in
            guard let old = try tx.get(resource, namespace: namespace, name: name) else {
                throw Status.notFound(resource, name: name)
            }
            try Self.checkPreconditions(resource, old, options)
            if options?["propagationPolicy"] == .string("Orphan") || options?["orphanDependents"] == .bool(true) {
                try Self.orphanPods(&tx, of: old, namespace: namespace)
            }
            return try Self.deleteOne(
                &tx, resource, namespace: namespace, old: old, gracePeriod: gracePeriod(resource, old, options))
        }
    }

    /// How long the kubelet has to stop a pod being deleted, or nil when it is deleted at once: kube-apiserver's
    /// graceful deletion (pkg/registry/core/pod/strategy.go `CheckGracefulDelete`) applies to pods bound to a node
    /// and not yet finished; the period is the request's `gracePeriodSeconds`, else the pod's
    /// `terminationGracePeriodSeconds`, else 30 s. Zero (`kubectl delete --force --grace-period=0`) deletes now.
    private func gracePeriod(_ resource: ResourceInfo, _ pod: JSONValue, _ options: JSONValue?) -> Int64? {
        guard gracefulPodDeletion, resource.storageKey == Resources.pod.storageKey,
            pod["spec"]?["nodeName"]?.stringValue?.isEmpty == false,
            !["Succeeded", "Failed"].contains(pod["status"]?["phase"]?.stringValue ?? "")
        else { return nil }
        let seconds =
            options?["gracePeriodSeconds"]?.int64Value ?? pod["spec"]?["terminationGracePeriodSeconds"]?.int64Value
            ?? 30
        return max(seconds, 0)
    }

    /// A deletion with `propagationPolicy: Orphan` (`kubectl delete --cascade=orphan`): the owner's pods lose their
    /// `ownerReferences` to it, so the workload controllers' garbage collection leaves them alone. (Any other policy
    /// is background deletion: the controllers delete the pods once their owner is gone.)
    private static func orphanPods(
        _ tx: inout ObjectStore.Transaction, of owner: JSONValue, namespace: String?
    ) throws {
        guard let uid = owner.metadataString("uid"), let namespace else { return }
        for pod in try tx.list(Resources.pod, namespace: namespace) {
            let references = pod["metadata"]?["ownerReferences"]?.arrayValue ?? []
            let kept = references.filter { $0["uid"]?.stringValue != uid }
            guard kept.count != references.count else { continue }
            var orphaned = pod
            orphaned.setValue(kept.isEmpty ? nil : .array(kept), at: ["metadata", "ownerReferences"])
            try tx.put(
                Resources.pod, namespace: namespace, name: pod.metadataString("name") ?? "", object: orphaned, old: pod)
        }
    }

    /// DELETE on a collection: deletes (or marks) every object the selectors match; returns them as a list.
    func deleteCollection(
        _ resource: ResourceInfo, namespace: String?, filter: ObjectFilter
    ) async throws -> JSONValue {
        try await store.transaction { tx in
            var deleted: [JSONValue] = []
            for old in try tx.list(resource, namespace: namespace) where filter.matches(old) {
                let name = old.metadataString("name") ?? ""
                if resource.storageKey == "/namespaces", Self.systemNamespaces.contains(name) { continue }
                deleted.append(
                    try Self.deleteOne(
                        &tx, resource, namespace: old.metadataString("namespace"), old: old,
                        gracePeriod: gracePeriod(resource, old, nil)))
            }
            return Self.listObject(resource, items: deleted, resourceVersion: tx.resourceVersion)
        }
    }

    /// Deletes one object inside a transaction as a DELETE does (also for the workload controllers): with
    /// finalizers it is only marked. With a positive `gracePeriod` (a pod its kubelet must stop first) it is marked
    /// with `deletionTimestamp` = now + the period and `deletionGracePeriodSeconds`; a later, shorter period
    /// shortens it, and zero deletes it.
    @discardableResult
    static func deleteOne(
        _ tx: inout ObjectStore.Transaction, _ resource: ResourceInfo, namespace: String?, old: JSONValue,
        gracePeriod: Int64? = nil
    ) throws -> JSONValue {
        let name = old.metadataString("name") ?? ""
        if let gracePeriod, gracePeriod > 0 {
            if let current = old["metadata"]?["deletionGracePeriodSeconds"]?.int64Value, current <= gracePeriod {
                return old
            }
            var marked = old
            marked.setValue(
                .string(timestamp(Date().addingTimeInterval(Double(gracePeriod)))),
                at: ["metadata", "deletionTimestamp"])
            marked.setValue(.number(Double(gracePeriod)), at: ["metadata", "deletionGracePeriodSeconds"])
            return try tx.put(resource, namespace: namespace, name: name, object: marked, old: old)
        }
        let finalizers = old["metadata"]?["finalizers"]?.arrayValue ?? []
        if !finalizers.isEmpty {
            if old.metadataString("deletionTimestamp") != nil { return old }
            var marked = old
            marked.setValue(.string(timestamp()), at: ["metadata", "deletionTimestamp"])
            marked.setValue(.number(0), at: ["metadata", "deletionGracePeriodSeconds"])
            return try tx.put(resource, namespace: namespace, name: name, object: marked, old: old)
        }
        if resource.storageKey == "/namespaces" {
            for child in Resources.all where child.namespaced {
                for item in try tx.list(child, namespace: name) {
                    _ = try deleteOne(&tx, child, namespace: name, old: item)
                }
            }
        }
        return try tx.delete(resource, namespace: namespace, name: name, old: old)
    }

    private static func checkPreconditions(_ resource: ResourceInfo, _ old: JSONValue, _ options: JSONValue?) throws {
        guard let preconditions = options?["preconditions"] else { return }
        let name = old.metadataString("name") ?? ""
        if let uid = preconditions["uid"]?.stringValue, uid != old.metadataString("uid") {
            throw Status.conflict(
                resource, name: name,
                reason: "Precondition failed: UID in precondition: \(uid), UID in object meta: "
                    + (old.metadataString("uid") ?? ""))
        }
        if let rv = preconditions["resourceVersion"]?.stringValue, rv != old.metadataString("resourceVersion") {
            throw Status.conflict(
                resource, name: name,
                reason: "Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in object meta: "
                    + (old.metadataString("resourceVersion") ?? ""))
        }
    }

    // MARK: Checks shared by the writes

    /// The body must be an object of this kind with well-formed metadata; fills in `apiVersion` and `kind`.
    static func checkedBody(_ resource: ResourceInfo, _ body: JSONValue) throws -> JSONValue {
        guard case .object = body else {
            throw Status.badRequest("the body of the request must be a JSON object")
        }
        var object = body
        if let kind = body["kind"]?.stringValue, !kind.isEmpty, kind != resource.kind {
            throw Status.badRequest(
                "the kind of the object (\(kind)) does not match the kind of the resource (\(resource.kind))")
        }
        if let apiVersion = body["apiVersion"]?.stringValue, !apiVersion.isEmpty, apiVersion != resource.apiVersion {
            throw Status.badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version "
                    + "(\(resource.apiVersion))")
        }
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        let metadata = body["metadata"] ?? .object([:])
        do {
            _ = try metadata.decoded(as: ObjectMeta.self)
        } catch {
            throw Status.badRequest(
                "\(resource.kind) in version \"\(resource.version)\" cannot be handled as a \(resource.kind): "
                    + "invalid metadata: \(error)")
        }
        object["metadata"] = metadata
        return object
    }

    /// Puts the URL's namespace into the object (namespaced kinds) or removes it (cluster-scoped kinds).
    static func placeNamespace(_ resource: ResourceInfo, _ body: JSONValue, namespace: String?) throws -> JSONValue {
        var object = body
        if resource.namespaced, let namespace {
            if let own = body.metadataString("namespace"), !own.isEmpty, own != namespace {
                throw Status.badRequest(
                    "the namespace of the provided object does not match the namespace sent on the request")
            }
            object.setValue(.string(namespace), at: ["metadata", "namespace"])
        } else {
            object.setValue(nil, at: ["metadata", "namespace"])
        }
        return object
    }

    static func validateName(
        _ resource: ResourceInfo, _ name: String, shown: String? = nil, field: String = "metadata.name"
    ) throws {
        let errors = NameValidation.errors(name, rule: ResourceRules.nameRule(resource))
        guard !errors.isEmpty else { return }
        let value = shown ?? name
        throw Status.invalid(
            resource, name: value,
            causes: errors.map {
                Status.Cause(reason: "FieldValueInvalid", message: "Invalid value: \"\(value)\": \($0)", field: field)
            })
    }

    /// RFC 3339 UTC time with seconds, as kube writes timestamps.
    static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    /// Five characters as kube's name generator uses (no vowels, no confusable digits).
    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }
}

/// The label and field selectors of a request, applied to objects.
struct ObjectFilter: Sendable {
    var labels = SelectorParsing.Selector()
    var fields = SelectorParsing.Selector()

    static let everything = ObjectFilter()

    func matches(_ object: JSONValue) -> Bool {
        let objectLabels = object.labels
        return labels.matches { objectLabels[$0] } && fields.matches { SelectorParsing.fieldValue(object, $0) }
    }
}
