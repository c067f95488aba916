import Foundation
import KubeModel
import WeftNet

/// What the workload controllers (`DeploymentController`, `DaemonSetController`) share about the pods they own:
/// making a pod from a template, telling whose pod it is, whether it is ready, which to delete first, and kube's
/// int-or-percentage arithmetic.
enum WorkloadPods {
    /// The rule a workload controller follows pods with: an event of a pod that a `kind` controls (before or
    /// after the change) marks its namespace.
    static func controlledPodNamespaces(kind: String) -> NamespaceQueue.Affected {
        { event in
            let controlled = [event.object, event.oldObject].contains {
                $0.flatMap { controllerUID($0, kind: kind) } != nil
            }
            return controlled ? [event.namespace] : []
        }
    }

    /// A short stable hash of a pod template (its canonical JSON), used as `pod-template-hash` and
    /// `controller-revision-hash`: lowercase letters and digits, valid in names and label values.
    static func templateHash(_ template: JSONValue) -> String {
        EndpointSliceController.hash(JSONCoding.encodeString(template))
    }

    /// The `ownerReferences` entry that makes `owner` (a Deployment or DaemonSet) a pod's controller.
    static func ownerReference(_ owner: JSONValue, kind: String) -> JSONValue {
        .object([
            "apiVersion": .string("apps/v1"), "kind": .string(kind), "name": owner["metadata"]?["name"] ?? .string(""),
            "uid": owner["metadata"]?["uid"] ?? .string(""), "controller": .bool(true),
            "blockOwnerDeletion": .bool(true),
        ])
    }

    /// The uid of the pod's controller when that is an `apps` object of `kind`.
    static func controllerUID(_ pod: JSONValue, kind: String) -> String? {
        let references = pod["metadata"]?["ownerReferences"]?.arrayValue ?? []
        guard
            let reference = references.first(where: { $0["controller"] == .bool(true) }),
            reference["kind"]?.stringValue == kind,
            reference["apiVersion"]?.stringValue?.hasPrefix("apps/") == true
        else { return nil }
        return reference["uid"]?.stringValue
    }

    /// The frame of a workload controller's reconcile of one namespace, inside its transaction: groups the pods by
    /// their controlling owner of `kind`, deletes those whose owner is gone (garbage collection, also of what a
    /// restart left behind), and — unless the namespace is being deleted — calls `reconcile` for every live owner
    /// that has a pod template, with the pods it controls.
    static func reconcileOwners(
        _ tx: inout ObjectStore.Transaction, _ resource: ResourceInfo, kind: String, namespace: String,
        _ reconcile: (JSONValue, [JSONValue], inout ObjectStore.Transaction) throws -> Void
    ) throws {
        let owners = try tx.list(resource, namespace: namespace)
        var owned: [String: [JSONValue]] = [:]
        for pod in try tx.list(Resources.pod, namespace: namespace) {
            if let uid = controllerUID(pod, kind: kind) { owned[uid, default: []].append(pod) }
        }
        let uids = Set(owners.compactMap { $0.metadataString("uid") })
        for (uid, pods) in owned where !uids.contains(uid) {
            for pod in pods where !isTerminating(pod) {
                try Registry.deleteOne(&tx, Resources.pod, namespace: namespace, old: pod)
            }
        }
        let namespaceObject = try tx.get(Resources.namespace, namespace: nil, name: namespace)
        guard let namespaceObject, namespaceObject.metadataString("deletionTimestamp") == nil else { return }
        for owner in owners {
            guard owner.metadataString("deletionTimestamp") == nil, case .object? = owner["spec"]?["template"]
            else { continue }
            try reconcile(owner, owned[owner.metadataString("uid") ?? ""] ?? [], &tx)
        }
    }

    /// Carries out a workload plan: deletes the named pods, creates one pod from the owner's template per element
    /// of `create` (its node, or nil to leave it to the scheduler) named `prefix` + a random suffix, and writes the
    /// owner's new status when it changed.
    static func apply(
        owner: JSONValue, _ resource: ResourceInfo, kind: String, pods: [JSONValue], delete: [String],
        create: [String?], prefix: String, labels: [String: String], status: JSONValue,
        _ tx: inout ObjectStore.Transaction
    ) throws {
        let namespace = owner.metadataString("namespace") ?? ""
        for podName in delete {
            guard let pod = pods.first(where: { $0.metadataString("name") == podName }) else { continue }
            try Registry.deleteOne(&tx, Resources.pod, namespace: namespace, old: pod)
        }
        let template = owner["spec"]?["template"] ?? .object([:])
        for node in create {
            let podName = try freeName(tx, namespace: namespace, prefix: prefix)
            let pod = Self.pod(
                template: template, owner: owner, kind: kind, name: podName, labels: labels, nodeName: node)
            try tx.put(Resources.pod, namespace: namespace, name: podName, object: pod, old: nil)
        }
        var updated = owner
        updated["status"] = status
        if updated != owner {
            try tx.put(
                resource, namespace: namespace, name: owner.metadataString("name") ?? "", object: updated, old: owner)
        }
    }

    /// A new pod of `template` owned by `owner`, ready to store: the template's labels plus `labels`, its
    /// annotations and spec (with `nodeName` when given), and the server-set fields of a create.
    static func pod(
        template: JSONValue, owner: JSONValue, kind: String, name: String, labels: [String: String],
        nodeName: String? = nil
    ) -> JSONValue {
        var metadata: [String: JSONValue] = [
            "name": .string(name), "namespace": owner["metadata"]?["namespace"] ?? .string(""),
            "ownerReferences": .array([ownerReference(owner, kind: kind)]),
        ]
        var podLabels = template["metadata"]?["labels"]?.objectValue ?? [:]
        for (key, value) in labels { podLabels[key] = .string(value) }
        metadata["labels"] = .object(podLabels)
        if let annotations = template["metadata"]?["annotations"], case .object = annotations {
            metadata["annotations"] = annotations
        }
        var spec = template["spec"] ?? .object([:])
        if let nodeName { spec["nodeName"] = .string(nodeName) }
        let pod: JSONValue = .object([
            "apiVersion": .string("v1"), "kind": .string("Pod"), "metadata": .object(metadata), "spec": spec,
        ])
        return Registry.prepareForCreate(Resources.pod, pod)
    }

    /// A free pod name: `prefix` (cut to 58 characters, as kube cuts a `generateName`) and 5 random characters.
    static func freeName(_ tx: ObjectStore.Transaction, namespace: String, prefix: String) throws -> String {
        let base = String(prefix.prefix(58))
        var name: String
        repeat {
            name = base + Registry.randomSuffix()
        } while try tx.get(Resources.pod, namespace: namespace, name: name) != nil
        return name
    }

    /// Not being deleted and not finished: a pod that counts as one of the replicas.
    static func isActive(_ pod: JSONValue) -> Bool {
        let phase = pod["status"]?["phase"]?.stringValue
        return !isTerminating(pod) && phase != "Succeeded" && phase != "Failed"
    }

    /// Marked for deletion (`deletionTimestamp`), still held by finalizers.
    static func isTerminating(_ pod: JSONValue) -> Bool {
        pod.metadataString("deletionTimestamp") != nil
    }

    /// The pod's `Ready` condition is true (what the controllers count as ready and available).
    static func isReady(_ pod: JSONValue) -> Bool {
        pod["status"]?["conditions"]?.arrayValue?.contains {
            $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
        } ?? false
    }

    /// Deleting this pod removes it at once (no finalizers hold it).
    static func goesAtOnce(_ pod: JSONValue) -> Bool {
        (pod["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty
    }

    /// Pods in the order kube's ReplicaSet controller deletes them: unscheduled before scheduled, pending before
    /// running, not ready before ready, newer before older (then by name, for a stable order).
    static func deletionOrder(_ pods: [JSONValue]) -> [JSONValue] {
        func key(_ pod: JSONValue) -> (Int, Int, Int, String, String) {
            let scheduled = (pod["spec"]?["nodeName"]?.stringValue ?? "").isEmpty ? 0 : 1
            let phase =
                switch pod["status"]?["phase"]?.stringValue {
                case "Pending": 0
                case "Running": 2
                default: 1
                }
            return (
                scheduled, phase, isReady(pod) ? 1 : 0, pod.metadataString("creationTimestamp") ?? "",
                pod.metadataString("name") ?? ""
            )
        }
        return pods.sorted { a, b in
            let (ka, kb) = (key(a), key(b))
            if (ka.0, ka.1, ka.2) != (kb.0, kb.1, kb.2) { return (ka.0, ka.1, ka.2) < (kb.0, kb.1, kb.2) }
            return (ka.3, ka.4) > (kb.3, kb.4)
        }
    }

    /// An int-or-percentage field (`maxSurge`, `maxUnavailable`) as a number of pods out of `total`, a percentage
    /// rounded up or down as asked (kube's `GetScaledValueFromIntOrPercent`); nil when absent or malformed.
    static func scaled(_ value: JSONValue?, total: Int, roundUp: Bool) -> Int? {
        switch value {
        case .number(let number) where number.rounded() == number && number >= 0:
            return Int(number)
        case .string(let text):
            if let number = Int(text), number >= 0 { return number }
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()), percent >= 0 else { return nil }
            let product = percent * total
            return roundUp ? (product + 99) / 100 : product / 100
        default:
            return nil
        }
    }
}
