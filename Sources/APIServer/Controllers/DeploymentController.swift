import Foundation
import KubeModel
import ServiceLifecycle
import WeftNet

/// kube-controller-manager's Deployment controller, inside the server, for what Weft needs: `spec.replicas` pods
/// of the current pod template, a new template rolled out with `RollingUpdate` (honouring `maxSurge` and
/// `maxUnavailable`) or `Recreate`, and the status `kubectl rollout status` reads.
///
/// There is no ReplicaSet kind in this server: a Deployment owns its pods directly (an `ownerReferences` entry with
/// `controller: true`), and the pods of one template are told apart by their `pod-template-hash` label, as a
/// ReplicaSet's pods would be; they are named `<deployment>-<hash>-<random>` like those. A pod counts as available
/// as soon as it is Ready. Not done: `paused`, `minReadySeconds`, `progressDeadlineSeconds`, revision history and
/// rollback, and adopting pods that match the selector without an owner.
///
/// Level-triggered, per namespace (like `EndpointSliceController`): an event of a Deployment, or of a pod a
/// Deployment controls, marks its namespace dirty; the namespace is reconciled in one store transaction, which also
/// deletes the pods whose Deployment no longer exists (garbage collection, also of what a restart left behind).
final class DeploymentController: ServiceLifecycle.Service, Sendable {
    static let kind = "Deployment"
    static let hashLabel = "pod-template-hash"

    let store: ObjectStore
    private let queue = NamespaceQueue()

    init(store: ObjectStore) {
        self.store = store
    }

    /// Watches and reconciles until cancelled or shut down gracefully.
    func run() async throws {
        await queue.runController(
            store,
            following: [
                (Resources.deployment, { @Sendable in [$0.namespace] }),
                (Resources.pod, WorkloadPods.controlledPodNamespaces(kind: Self.kind)),
            ]
        ) { try await self.reconcile(namespace: $0) }
    }

    /// Brings the pods and status of every Deployment of one namespace to what their specs call for, and deletes
    /// the pods of Deployments that are gone.
    func reconcile(namespace: String) async throws {
        let now = Registry.timestamp()
        try await store.transaction { tx in
            try WorkloadPods.reconcileOwners(&tx, Resources.deployment, kind: Self.kind, namespace: namespace) {
                deployment, pods, tx in
                let plan = Self.plan(deployment, pods: pods, now: now)
                try WorkloadPods.apply(
                    owner: deployment, Resources.deployment, kind: Self.kind, pods: pods, delete: plan.delete,
                    create: Array(repeating: nil, count: plan.create),
                    prefix: "\(deployment.metadataString("name") ?? "")-\(plan.hash)-",
                    labels: [Self.hashLabel: plan.hash],
                    status: plan.status, &tx)
            }
        }
    }

    // MARK: What to do

    /// One reconcile of one Deployment.
    struct Plan: Equatable {
        /// The current template's `pod-template-hash`.
        var hash: String
        /// How many pods of the current template to create.
        var create = 0
        /// The names of the pods to delete.
        var delete: [String] = []
        /// The Deployment's status once that is done.
        var status: JSONValue = .object([:])
    }

    /// What to do for `deployment`, whose pods (those it controls) are `pods`; `now` stamps changed conditions.
    ///
    /// Scaling creates or deletes pods of the current template (the worst first, `WorkloadPods.deletionOrder`).
    /// While pods of older templates remain, `RollingUpdate` works as kube's does: new pods up to `replicas +
    /// maxSurge` in all, old pods deleted only while at least `replicas - maxUnavailable` pods stay available
    /// (unavailable old pods first); `Recreate` deletes every old pod and creates new ones once none is left.
    static func plan(_ deployment: JSONValue, pods: [JSONValue], now: String) -> Plan {
        let spec = deployment["spec"] ?? .object([:])
        let replicas = max(0, spec["replicas"]?.int64Value.map(Int.init) ?? 1)
        let hash = WorkloadPods.templateHash(spec["template"] ?? .object([:]))
        var plan = Plan(hash: hash)
        let isCurrent = { (pod: JSONValue) in pod.labels[hashLabel] == hash }
        let recreate = spec["strategy"]?["type"]?.stringValue == "Recreate"
        let (maxSurge, maxUnavailable) = recreate ? (0, 0) : fenceposts(spec["strategy"], replicas: replicas)

        // Finished pods are replaced; terminating ones no longer count.
        plan.delete = pods.filter { !WorkloadPods.isTerminating($0) && !WorkloadPods.isActive($0) }.compactMap {
            $0.metadataString("name")
        }
        var current = pods.filter { WorkloadPods.isActive($0) && isCurrent($0) }
        var old = pods.filter { WorkloadPods.isActive($0) && !isCurrent($0) }
        func remove(_ doomed: [JSONValue], from list: inout [JSONValue]) {
            let names = Set(doomed.compactMap { $0.metadataString("name") })
            plan.delete += doomed.compactMap { $0.metadataString("name") }
            list.removeAll { names.contains($0.metadataString("name") ?? "") }
        }

        if current.count > replicas {
            remove(Array(WorkloadPods.deletionOrder(current).prefix(current.count - replicas)), from: &current)
        }
        if recreate {
            // Old pods first; new ones once every old pod is gone (after the deletions' events).
            let oldLeft = !old.isEmpty || pods.contains { WorkloadPods.isTerminating($0) && !isCurrent($0) }
            remove(old, from: &old)
            if !oldLeft { plan.create = replicas - current.count }
        } else if old.isEmpty {
            plan.create = replicas - current.count
        } else {
            // Scale up the new template within the surge…
            let total = current.count + old.count
            if total < replicas + maxSurge { plan.create = min(replicas + maxSurge - total, replicas - current.count) }
            // …then scale down old pods as far as availability allows: the unavailable ones first, then available
            // ones while more than the minimum stay available.
            let minAvailable = replicas - maxUnavailable
            let newUnavailable = current.count + plan.create - current.count(where: WorkloadPods.isReady)
            let maxScaledDown = total + plan.create - minAvailable - newUnavailable
            if maxScaledDown > 0 {
                let unhealthy = WorkloadPods.deletionOrder(old.filter { !WorkloadPods.isReady($0) })
                remove(Array(unhealthy.prefix(maxScaledDown)), from: &old)
            }
            let available = (current + old).count(where: WorkloadPods.isReady)
            if available > minAvailable {
                remove(Array(WorkloadPods.deletionOrder(old).prefix(available - minAvailable)), from: &old)
            }
        }
        plan.create = max(0, plan.create)
        plan.status = status(
            deployment, replicas: replicas, minAvailable: replicas - maxUnavailable, hash: hash,
            current: current.count + plan.create, old: old.count,
            ready: (current + old).count(where: WorkloadPods.isReady), now: now)
        return plan
    }

    /// `maxSurge` and `maxUnavailable` as pod counts (defaults 25% each; surge rounds up, unavailable down, and
    /// when both come to zero one pod may be unavailable), as kube's `ResolveFenceposts`.
    static func fenceposts(_ strategy: JSONValue?, replicas: Int) -> (surge: Int, unavailable: Int) {
        let rolling = strategy?["rollingUpdate"]
        let surge = WorkloadPods.scaled(rolling?["maxSurge"] ?? .string("25%"), total: replicas, roundUp: true) ?? 0
        var unavailable =
            WorkloadPods.scaled(rolling?["maxUnavailable"] ?? .string("25%"), total: replicas, roundUp: false) ?? 0
        if surge == 0 && unavailable == 0 { unavailable = 1 }
        return (surge, min(unavailable, replicas))
    }

    /// The status after a reconcile: counts of the pods there will be (`current` of the template, `old` others,
    /// `ready` of them ready), and the `Available` and `Progressing` conditions, keeping the times of unchanged
    /// ones.
    private static func status(
        _ deployment: JSONValue, replicas: Int, minAvailable: Int, hash: String, current: Int, old: Int, ready: Int,
        now: String
    ) -> JSONValue {
        let total = current + old
        let name = deployment.metadataString("name") ?? ""
        let complete = current == replicas && total == replicas && ready >= replicas
        let previous = deployment["status"]?["conditions"]?.arrayValue ?? []
        let available =
            ready >= minAvailable
            ? condition("Available", true, "MinimumReplicasAvailable", "Deployment has minimum availability.")
            : condition(
                "Available", false, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        let replicaSet = "ReplicaSet \"\(name)-\(hash)\""
        let progressing =
            complete
            ? condition("Progressing", true, "NewReplicaSetAvailable", "\(replicaSet) has successfully progressed.")
            : condition("Progressing", true, "ReplicaSetUpdated", "\(replicaSet) is progressing.")
        var status: [String: JSONValue] = [
            "observedGeneration": deployment["metadata"]?["generation"] ?? .number(1),
            "replicas": .number(Double(total)), "updatedReplicas": .number(Double(current)),
            "readyReplicas": .number(Double(ready)), "availableReplicas": .number(Double(ready)),
            "unavailableReplicas": .number(Double(max(0, replicas - ready))),
            "conditions": .array([available, progressing].map { stamped($0, previous: previous, now: now) }),
        ]
        if let collisions = deployment["status"]?["collisionCount"] { status["collisionCount"] = collisions }
        return .object(status)
    }

    private static func condition(_ type: String, _ status: Bool, _ reason: String, _ message: String) -> JSONValue {
        .object([
            "type": .string(type), "status": .string(status ? "True" : "False"), "reason": .string(reason),
            "message": .string(message),
        ])
    }

    /// A condition with kube's times: `lastTransitionTime` kept while the status stays, `lastUpdateTime` kept while
    /// nothing changes.
    private static func stamped(_ condition: JSONValue, previous: [JSONValue], now: String) -> JSONValue {
        var result = condition
        let old = previous.first { $0["type"] == condition["type"] }
        let sameStatus = old?["status"] == condition["status"]
        let same = sameStatus && old?["reason"] == condition["reason"] && old?["message"] == condition["message"]
        result["lastTransitionTime"] = sameStatus ? old?["lastTransitionTime"] ?? .string(now) : .string(now)
        result["lastUpdateTime"] = same ? old?["lastUpdateTime"] ?? .string(now) : .string(now)
        return result
    }
}
