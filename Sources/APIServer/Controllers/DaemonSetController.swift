import Foundation
import KubeModel
import ServiceLifecycle
import WeftNet

/// kube-controller-manager's DaemonSet controller, inside the server, for what Weft needs: one pod of the current
/// template on every node that matches the template's `nodeSelector` (`runsDaemon`), placed by setting
/// `spec.nodeName`; pods removed from nodes that went away or no longer qualify; a new template rolled out node by
/// node within `maxUnavailable` (`RollingUpdate`) or only onto pods the user deleted (`OnDelete`); and the status
/// `kubectl rollout status` reads.
///
/// Pods are named `<daemonset>-<random>` and carry the template's hash as `controller-revision-hash` (there are no
/// ControllerRevision objects). A pod is available as soon as it is Ready. Not done: taints in general (only the
/// two that matter for daemons are modelled, see `runsDaemon`), node affinity, `maxSurge`, `minReadySeconds`,
/// revision history.
///
/// Level-triggered, per namespace: an event of a DaemonSet or of a pod a DaemonSet controls marks its namespace
/// dirty, a node event that may change where daemon pods belong marks every namespace with a DaemonSet. A namespace
/// is reconciled in one store transaction, which also deletes the pods whose DaemonSet no longer exists.
final class DaemonSetController: ServiceLifecycle.Service, Sendable {
    static let kind = "DaemonSet"
    static let hashLabel = "controller-revision-hash"

    let store: ObjectStore
    private let queue = NamespaceQueue()

    init(store: ObjectStore) {
        self.store = store
    }

    /// Watches and reconciles until cancelled or shut down gracefully.
    func run() async throws {
        let store = store
        await queue.runController(
            store,
            following: [
                (Resources.daemonSet, { @Sendable in [$0.namespace] }),
                (Resources.pod, WorkloadPods.controlledPodNamespaces(kind: Self.kind)),
                (
                    Resources.node,
                    { @Sendable event in
                        // A node event that may change where daemon pods belong marks every DaemonSet's namespace.
                        guard event.kind != .modified || Self.placement(event.oldObject) != Self.placement(event.object)
                        else { return [] }
                        let daemonSets = (try? await store.list(Resources.daemonSet, namespace: nil).items) ?? []
                        return daemonSets.compactMap { $0.metadataString("namespace") }
                    }
                ),
            ]
        ) { try await self.reconcile(namespace: $0) }
    }

    /// What of a node decides which daemon pods it runs: its labels and whether it is Ready.
    private static func placement(_ node: JSONValue?) -> [String: String]? {
        guard let node, node.metadataString("deletionTimestamp") == nil else { return nil }
        return node.labels.merging(["\u{0}ready": String(isReady(node))]) { a, _ in a }
    }

    static func isReady(_ node: JSONValue) -> Bool {
        node["status"]?["conditions"]?.arrayValue?.contains {
            $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
        } ?? false
    }

    /// Whether a daemon with `template` belongs on `node`, as kube's default tolerations for daemon pods decide: a
    /// cordoned node still runs daemons (they tolerate `node.kubernetes.io/unschedulable`), a node that turns
    /// NotReady keeps the daemon it has (they tolerate the NoExecute `not-ready` taint), and a NotReady node gets a
    /// new daemon only when the template tolerates `node.kubernetes.io/not-ready` itself (as CNI daemons do with
    /// `operator: Exists`), since such nodes carry the NoSchedule `not-ready` taint.
    static func runsDaemon(
        on node: JSONValue, template: JSONValue, selector: [String: String], hasPod: Bool
    ) -> Bool {
        guard node.metadataString("deletionTimestamp") == nil,
            selector.allSatisfy({ node.labels[$0.key] == $0.value })
        else { return false }
        if isReady(node) || hasPod { return true }
        let tolerations = template["spec"]?["tolerations"]?.arrayValue ?? []
        return tolerations.contains { toleration in
            let key = toleration["key"]?.stringValue ?? ""
            let effect = toleration["effect"]?.stringValue ?? ""
            let exists = toleration["operator"]?.stringValue == "Exists"
            return (key.isEmpty && exists) || (key == "node.kubernetes.io/not-ready" && effect != "NoExecute")
        }
    }

    /// Brings the pods and status of every DaemonSet of one namespace to what their specs and the nodes call for,
    /// and deletes the pods of DaemonSets that are gone.
    func reconcile(namespace: String) async throws {
        try await store.transaction { tx in
            var nodes: [JSONValue]?  // listed once, and only when a DaemonSet needs them
            try WorkloadPods.reconcileOwners(&tx, Resources.daemonSet, kind: Self.kind, namespace: namespace) {
                daemonSet, pods, tx in
                if nodes == nil { nodes = try tx.list(Resources.node, namespace: nil) }
                let plan = Self.plan(daemonSet, nodes: nodes ?? [], pods: pods)
                try WorkloadPods.apply(
                    owner: daemonSet, Resources.daemonSet, kind: Self.kind, pods: pods, delete: plan.delete,
                    create: plan.create, prefix: "\(daemonSet.metadataString("name") ?? "")-",
                    labels: [Self.hashLabel: plan.hash], status: plan.status, &tx)
            }
        }
    }

    // MARK: What to do

    /// One reconcile of one DaemonSet.
    struct Plan: Equatable {
        /// The current template's `controller-revision-hash`.
        var hash: String
        /// The nodes to create a pod of the current template on, sorted.
        var create: [String] = []
        /// The names of the pods to delete.
        var delete: [String] = []
        /// The DaemonSet's status once that is done.
        var status: JSONValue = .object([:])
    }

    /// What to do for `daemonSet`, whose pods (those it controls) are `pods`, given every node.
    ///
    /// A node that should run the daemon keeps one pod (of the current template and ready, preferably; extra ones
    /// are deleted) or gets one once no pod of this DaemonSet is left on it; pods on other nodes, and finished
    /// pods, are deleted. With `RollingUpdate`, old-template pods are replaced (deleted, and a new pod created once
    /// the old one is gone) node by node, in node-name order: unavailable ones at once, available ones while fewer
    /// than `maxUnavailable` (default 1; a percentage of the desired count, rounded up) nodes lack an available pod.
    static func plan(_ daemonSet: JSONValue, nodes: [JSONValue], pods: [JSONValue]) -> Plan {
        let spec = daemonSet["spec"] ?? .object([:])
        let template = spec["template"] ?? .object([:])
        var plan = Plan(hash: WorkloadPods.templateHash(template))
        let selector = template["spec"]?["nodeSelector"]?.objectValue?.compactMapValues(\.stringValue) ?? [:]
        let occupied = Set(
            pods.filter { !WorkloadPods.isTerminating($0) }.compactMap { $0["spec"]?["nodeName"]?.stringValue })
        let eligible = Set(
            nodes.filter { node in
                runsDaemon(
                    on: node, template: template, selector: selector,
                    hasPod: occupied.contains(node.metadataString("name") ?? ""))
            }
            .compactMap { $0.metadataString("name") })

        // Where pods remain, by node, after the deletions.
        var remaining: [String: [JSONValue]] = [:]
        func delete(_ pod: JSONValue) {
            plan.delete.append(pod.metadataString("name") ?? "")
            if !WorkloadPods.goesAtOnce(pod) {
                remaining[pod["spec"]?["nodeName"]?.stringValue ?? "", default: []].append(pod)
            }
        }
        var kept: [String: JSONValue] = [:]
        let byNode = Dictionary(grouping: pods) { $0["spec"]?["nodeName"]?.stringValue ?? "" }
        for (node, onNode) in byNode.sorted(by: { $0.key < $1.key }) {
            for pod in onNode where WorkloadPods.isTerminating(pod) { remaining[node, default: []].append(pod) }
            let active = onNode.filter { !WorkloadPods.isTerminating($0) }
            guard eligible.contains(node) else {
                active.forEach(delete)
                continue
            }
            let preferred = active.filter(WorkloadPods.isActive).sorted { a, b in
                let ka = (a.labels[hashLabel] == plan.hash, WorkloadPods.isReady(a))
                let kb = (b.labels[hashLabel] == plan.hash, WorkloadPods.isReady(b))
                if ka != kb { return ka.0 != kb.0 ? ka.0 : ka.1 }
                return (a.metadataString("creationTimestamp") ?? "", a.metadataString("name") ?? "")
                    < (b.metadataString("creationTimestamp") ?? "", b.metadataString("name") ?? "")
            }
            if let first = preferred.first { kept[node] = first }
            active.filter { $0 != preferred.first }.forEach(delete)
        }

        if spec["updateStrategy"]?["type"]?.stringValue != "OnDelete" {
            let rolling = spec["updateStrategy"]?["rollingUpdate"]
            let maxUnavailable = max(
                1, WorkloadPods.scaled(rolling?["maxUnavailable"], total: eligible.count, roundUp: true) ?? 1)
            var unavailable = eligible.count { kept[$0].map { !WorkloadPods.isReady($0) } ?? true }
            for node in eligible.sorted() {
                guard let pod = kept[node], pod.labels[hashLabel] != plan.hash else { continue }
                if WorkloadPods.isReady(pod) {
                    guard unavailable < maxUnavailable else { continue }
                    unavailable += 1
                }
                kept[node] = nil
                delete(pod)
            }
        }
        plan.create = eligible.filter { kept[$0] == nil && remaining[$0] == nil }.sorted()
        plan.status = status(
            daemonSet, hash: plan.hash, eligible: eligible, kept: kept, created: plan.create, remaining: remaining)
        return plan
    }

    /// The status after a reconcile, from the pods there will be: `kept` (one per eligible node), `created`, and
    /// `remaining` (held by finalizers).
    private static func status(
        _ daemonSet: JSONValue, hash: String, eligible: Set<String>, kept: [String: JSONValue], created: [String],
        remaining: [String: [JSONValue]]
    ) -> JSONValue {
        let ready = kept.values.count(where: WorkloadPods.isReady)
        let updated = kept.values.count { $0.labels[hashLabel] == hash } + created.count
        let misscheduled = remaining.keys.count { !eligible.contains($0) }
        let count = { (value: Int) in JSONValue.number(Double(value)) }
        return .object([
            "observedGeneration": daemonSet["metadata"]?["generation"] ?? .number(1),
            "desiredNumberScheduled": count(eligible.count),
            "currentNumberScheduled": count(kept.count + created.count),
            "numberMisscheduled": count(misscheduled), "numberReady": count(ready), "numberAvailable": count(ready),
            "numberUnavailable": count(eligible.count - ready), "updatedNumberScheduled": count(updated),
        ])
    }
}
