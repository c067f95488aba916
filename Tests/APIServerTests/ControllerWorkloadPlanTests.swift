import Foundation
import KubeModel
import Testing
import WeftNet

@testable import APIServer

/// The Deployment and DaemonSet controllers' decisions as pure functions: what to create and delete for a given
/// object and its pods (and nodes), and the status that results.
@Suite("Workload controller plans")
struct ControllerWorkloadPlanTests {
    static func parse(_ text: String) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
    }

    static func deployment(replicas: Int, image: String = "nginx:1", strategy: String? = nil) -> JSONValue {
        let strategyText = strategy.map { #", "strategy": \#($0)"# } ?? ""
        return parse(
            """
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "web", "namespace": "default", "uid": "u-web", "generation": 2},
             "spec": {"replicas": \(replicas), "selector": {"matchLabels": {"app": "web"}}\(strategyText),
              "template": {"metadata": {"labels": {"app": "web"}},
                           "spec": {"containers": [{"name": "c", "image": "\(image)"}]}}}}
            """)
    }

    /// A pod of one template (`label` = its hash), created at second `created`.
    static func pod(
        _ name: String, label: String = DeploymentController.hashLabel, hash: String, ready: Bool,
        created: Int = 0, node: String? = nil, phase: String? = nil, finalizer: Bool = false
    ) -> JSONValue {
        var pod: JSONValue = .object([
            "metadata": .object([
                "name": .string(name), "labels": .object([label: .string(hash), "app": .string("web")]),
                "creationTimestamp": .string(String(format: "2025-01-01T00:%02d:%02dZ", created / 60, created % 60)),
            ]),
            "spec": .object(node.map { ["nodeName": .string($0)] } ?? [:]),
            "status": .object([
                "phase": .string(phase ?? (ready ? "Running" : "Pending")),
                "conditions": .array([
                    .object(["type": .string("Ready"), "status": .string(ready ? "True" : "False")])
                ]),
            ]),
        ])
        if finalizer { pod.setValue(.array([.string("test/hold")]), at: ["metadata", "finalizers"]) }
        return pod
    }

    /// The pod as its kubelet reports it once running and ready.
    static func readied(_ pod: JSONValue) -> JSONValue {
        var copy = pod
        copy.setValue(.string("Running"), at: ["status", "phase"])
        copy.setValue(
            .array([.object(["type": .string("Ready"), "status": .string("True")])]), at: ["status", "conditions"])
        return copy
    }

    static func names(_ pods: [JSONValue]) -> Set<String> { Set(pods.compactMap { $0.metadataString("name") }) }

    // MARK: Deployments

    @Test func fencepostsRoundAsKube() {
        func posts(_ strategy: String?, _ replicas: Int) -> [Int] {
            let (surge, unavailable) = DeploymentController.fenceposts(
                strategy.map(Self.parse), replicas: replicas)
            return [surge, unavailable]
        }
        #expect(posts(nil, 10) == [3, 2], "25% of 10: surge rounds up, unavailable down")
        #expect(posts(nil, 1) == [1, 0])
        #expect(posts(#"{"rollingUpdate": {"maxSurge": 2, "maxUnavailable": "50%"}}"#, 5) == [2, 2])
        #expect(posts(#"{"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}}"#, 3) == [0, 1], "both zero")
        #expect(posts(#"{"rollingUpdate": {"maxSurge": "0%", "maxUnavailable": 0}}"#, 4) == [0, 1])
        #expect(posts(#"{"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 9}}"#, 3) == [1, 3], "at most replicas")
    }

    @Test func deploymentScalesUpThenDownWorstFirst() throws {
        let deployment = Self.deployment(replicas: 3)
        let empty = DeploymentController.plan(deployment, pods: [], now: "T1")
        #expect(empty.create == 3 && empty.delete.isEmpty)
        #expect(empty.hash == WorkloadPods.templateHash(deployment["spec"]?["template"] ?? .null))
        #expect(empty.status.number("replicas") == 3 && empty.status.number("updatedReplicas") == 3)
        #expect(empty.status.number("availableReplicas") == 0 && empty.status.number("unavailableReplicas") == 3)
        #expect(empty.status.number("observedGeneration") == 2)
        #expect(empty.status.string("conditions.0.type") == "Available")
        #expect(empty.status.string("conditions.0.status") == "False")
        #expect(empty.status.string("conditions.0.reason") == "MinimumReplicasUnavailable")
        #expect(empty.status.string("conditions.1.reason") == "ReplicaSetUpdated")

        let hash = empty.hash
        let pods = [
            Self.pod("a", hash: hash, ready: true, created: 1, node: "n"),
            Self.pod("b", hash: hash, ready: true, created: 5, node: "n"),
            Self.pod("c", hash: hash, ready: false, created: 2, node: "n"),
            Self.pod("d", hash: hash, ready: true, created: 3, node: "n"),
            Self.pod("e", hash: hash, ready: false, created: 0),
        ]
        let down = DeploymentController.plan(Self.deployment(replicas: 2), pods: pods, now: "T1")
        #expect(down.create == 0)
        #expect(down.delete == ["e", "c", "b"], "unscheduled, then not ready, then the newest")
        #expect(down.status.number("replicas") == 2 && down.status.number("readyReplicas") == 2)
        #expect(down.status.string("conditions.1.reason") == "NewReplicaSetAvailable")
        #expect(down.status.string("conditions.1.message") == "ReplicaSet \"web-\(hash)\" has successfully progressed.")

        // Finished pods are replaced, terminating ones are left to their finalizers and not counted.
        let finished = [
            Self.pod("a", hash: hash, ready: true), Self.pod("f", hash: hash, ready: false, phase: "Failed"),
            Self.pod("t", hash: hash, ready: true, finalizer: true).with(
                "2025-01-01T00:00:00Z", at: "deletionTimestamp"),
        ]
        let replaced = DeploymentController.plan(Self.deployment(replicas: 2), pods: finished, now: "T1")
        #expect(replaced.delete == ["f"] && replaced.create == 1)
    }

    @Test func unchangedStateGivesTheSameStatus() {
        let deployment = Self.deployment(replicas: 1)
        let first = DeploymentController.plan(deployment, pods: [], now: "T1")
        var stored = deployment
        stored["status"] = first.status
        let pods = [Self.pod("a", hash: first.hash, ready: false)]
        let second = DeploymentController.plan(stored, pods: pods, now: "T2")
        #expect(second.create == 0 && second.delete.isEmpty)
        #expect(second.status == first.status, "no new timestamps when nothing changed")
        let ready = DeploymentController.plan(stored, pods: [Self.pod("a", hash: first.hash, ready: true)], now: "T3")
        #expect(ready.status.string("conditions.0.status") == "True")
        #expect(ready.status.string("conditions.0.lastTransitionTime") == "T3")
        #expect(ready.status.string("conditions.1.lastTransitionTime") == "T1", "Progressing stayed True")
        #expect(ready.status.string("conditions.1.lastUpdateTime") == "T3", "its reason changed")
    }

    /// Rolls `replicas` ready pods of an old template over to the new one, applying each plan as the store would
    /// and letting a slow kubelet make one new pod ready per step; checks kube's bounds after every step.
    @Test(arguments: [
        (4, nil as String?), (3, #"{"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}"#),
        (5, #"{"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}}"#), (1, nil),
        (10, #"{"rollingUpdate": {"maxSurge": "30%", "maxUnavailable": "30%"}}"#),
    ])
    func rollingUpdateStaysWithinSurgeAndAvailability(replicas: Int, strategy: String?) throws {
        let deployment = Self.deployment(replicas: replicas, image: "nginx:2", strategy: strategy)
        let (surge, unavailable) = DeploymentController.fenceposts(deployment["spec"]?["strategy"], replicas: replicas)
        var pods = (0..<replicas).map { Self.pod("old-\($0)", hash: "old", ready: true, node: "n") }
        var clock = 1
        var settled = false
        for _ in 0..<100 {
            let plan = DeploymentController.plan(deployment, pods: pods, now: "T")
            pods.removeAll { plan.delete.contains($0.metadataString("name") ?? "") }
            for _ in 0..<plan.create {
                pods.append(Self.pod("new-\(clock)", hash: plan.hash, ready: false, created: clock, node: "n"))
                clock += 1
            }
            #expect(pods.count <= replicas + surge, "surge exceeded: \(Self.names(pods))")
            #expect(pods.count(where: WorkloadPods.isReady) >= replicas - unavailable, "too few available")
            if plan.create == 0 && plan.delete.isEmpty && pods.allSatisfy(WorkloadPods.isReady) {
                settled = true
                #expect(pods.allSatisfy { $0.labels[DeploymentController.hashLabel] == plan.hash })
                #expect(pods.count == replicas)
                #expect(plan.status.number("updatedReplicas") == Double(replicas))
                #expect(plan.status.number("availableReplicas") == Double(replicas))
                #expect(plan.status.string("conditions.1.reason") == "NewReplicaSetAvailable")
                break
            }
            if let index = pods.firstIndex(where: { !WorkloadPods.isReady($0) }) {
                pods[index] = Self.readied(pods[index])
            }
        }
        #expect(settled, "the rollout did not finish: \(Self.names(pods))")
    }

    @Test func recreateDeletesOldPodsBeforeCreating() {
        let deployment = Self.deployment(replicas: 2, image: "nginx:2", strategy: #"{"type": "Recreate"}"#)
        let old = [Self.pod("o1", hash: "old", ready: true), Self.pod("o2", hash: "old", ready: true, finalizer: true)]
        let first = DeploymentController.plan(deployment, pods: old, now: "T")
        #expect(first.delete.sorted() == ["o1", "o2"] && first.create == 0)
        let terminating = old[1].with("2025-01-01T00:00:00Z", at: "deletionTimestamp")
        #expect(DeploymentController.plan(deployment, pods: [terminating], now: "T").create == 0, "o2 still there")
        let gone = DeploymentController.plan(deployment, pods: [], now: "T")
        #expect(gone.create == 2)
        #expect(gone.status.string("conditions.0.reason") == "MinimumReplicasUnavailable")
    }

    // MARK: DaemonSets

    static func node(_ name: String, ready: Bool = true, cordoned: Bool = false, labels: String = "{}") -> JSONValue {
        parse(
            """
            {"metadata": {"name": "\(name)", "labels": \(labels)}, "spec": {"unschedulable": \(cordoned)},
             "status": {"conditions": [{"type": "Ready", "status": "\(ready ? "True" : "False")"}]}}
            """)
    }

    static func daemonSet(
        image: String = "agent:1", nodeSelector: String = "{}", updateStrategy: String = #"{"type": "RollingUpdate"}"#
    ) -> JSONValue {
        parse(
            """
            {"apiVersion": "apps/v1", "kind": "DaemonSet",
             "metadata": {"name": "agent", "namespace": "kube-system", "uid": "u-agent", "generation": 3},
             "spec": {"selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": \(updateStrategy),
              "template": {"metadata": {"labels": {"app": "agent"}},
                           "spec": {"nodeSelector": \(nodeSelector),
                                    "containers": [{"name": "c", "image": "\(image)"}]}}}}
            """)
    }

    static func daemonPod(_ name: String, node: String, hash: String, ready: Bool = true) -> JSONValue {
        pod(name, label: DaemonSetController.hashLabel, hash: hash, ready: ready, node: node)
    }

    @Test func daemonSetRunsOnePodPerEligibleNode() {
        let nodes = [
            Self.node("a"), Self.node("b", labels: #"{"role": "edge"}"#), Self.node("down", ready: false),
            Self.node("cordoned", cordoned: true),
        ]
        // Cordoned nodes run daemons; a NotReady node gets none (its NoSchedule `not-ready` taint).
        let plan = DaemonSetController.plan(Self.daemonSet(), nodes: nodes, pods: [])
        #expect(plan.create == ["a", "b", "cordoned"] && plan.delete.isEmpty)
        #expect(plan.status.number("desiredNumberScheduled") == 3)
        #expect(plan.status.number("currentNumberScheduled") == 3)
        #expect(plan.status.number("updatedNumberScheduled") == 3)
        #expect(plan.status.number("numberReady") == 0 && plan.status.number("numberUnavailable") == 3)

        // A template that tolerates everything (as CNI daemons do) also goes to the NotReady node.
        var tolerant = Self.daemonSet()
        tolerant["spec"]?["template"]?["spec"]?["tolerations"] = .array([.object(["operator": .string("Exists")])])
        #expect(DaemonSetController.plan(tolerant, nodes: nodes, pods: []).create == ["a", "b", "cordoned", "down"])

        // A node that turns NotReady keeps the daemon it runs.
        let running = [Self.daemonPod("on-down", node: "down", hash: plan.hash)]
        let kept = DaemonSetController.plan(Self.daemonSet(), nodes: nodes, pods: running)
        #expect(kept.delete.isEmpty && kept.create == ["a", "b", "cordoned"])
        #expect(plan.status.number("observedGeneration") == 3)

        let edgeSet = Self.daemonSet(nodeSelector: #"{"role": "edge"}"#)
        let edge = DaemonSetController.plan(edgeSet, nodes: nodes, pods: [])
        #expect(edge.create == ["b"])

        // A pod on a node that went away or no longer matches goes; duplicates on a node go, keeping the best.
        let hash = edge.hash
        let pods = [
            Self.daemonPod("on-a", node: "a", hash: hash), Self.daemonPod("on-gone", node: "gone", hash: hash),
            Self.daemonPod("b-old", node: "b", hash: "old"), Self.daemonPod("b-new", node: "b", hash: hash),
        ]
        let cleanup = DaemonSetController.plan(edgeSet, nodes: nodes, pods: pods)
        #expect(Set(cleanup.delete) == ["on-a", "on-gone", "b-old"] && cleanup.create.isEmpty)
        #expect(cleanup.status.number("numberReady") == 1 && cleanup.status.number("numberMisscheduled") == 0)
    }

    @Test func daemonSetRollsNodeByNodeWithinMaxUnavailable() {
        let nodes = ["a", "b", "c"].map { Self.node($0) }
        var pods = ["a", "b", "c"].map { Self.daemonPod("old-\($0)", node: $0, hash: "old") }
        let daemonSet = Self.daemonSet(image: "agent:2")
        var replaced: [String] = []
        for step in 0..<20 {
            let plan = DaemonSetController.plan(daemonSet, nodes: nodes, pods: pods)
            pods.removeAll { plan.delete.contains($0.metadataString("name") ?? "") }
            pods += plan.create.map { Self.daemonPod("new-\(step)-\($0)", node: $0, hash: plan.hash, ready: false) }
            replaced += plan.create
            #expect(pods.count(where: WorkloadPods.isReady) >= 2, "more than one node unavailable")
            #expect(plan.create.count <= 1)
            if plan.create.isEmpty && plan.delete.isEmpty && pods.allSatisfy(WorkloadPods.isReady) {
                #expect(pods.allSatisfy { $0.labels[DaemonSetController.hashLabel] == plan.hash })
                #expect(plan.status.number("updatedNumberScheduled") == 3 && plan.status.number("numberReady") == 3)
                break
            }
            pods = pods.map(Self.readied)
        }
        #expect(replaced == ["a", "b", "c"], "node by node, in name order")

        // 50% of 3 rounds up: two nodes at a time; an unavailable old pod is replaced at once, outside the budget.
        let half = Self.daemonSet(
            image: "agent:2", updateStrategy: #"{"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}}"#)
        let old = ["a", "b", "c"].map { Self.daemonPod("old-\($0)", node: $0, hash: "old") }
        #expect(DaemonSetController.plan(half, nodes: nodes, pods: old).create == ["a", "b"])
        let broken = [Self.daemonPod("old-a", node: "a", hash: "old", ready: false)] + old.dropFirst()
        #expect(DaemonSetController.plan(daemonSet, nodes: nodes, pods: broken).create == ["a"])
        #expect(DaemonSetController.plan(half, nodes: nodes, pods: broken).create == ["a", "b"])
    }

    @Test func daemonSetOnDeleteReplacesOnlyDeletedPods() {
        let nodes = ["a", "b"].map { Self.node($0) }
        let daemonSet = Self.daemonSet(image: "agent:2", updateStrategy: #"{"type": "OnDelete"}"#)
        let pods = ["a", "b"].map { Self.daemonPod("old-\($0)", node: $0, hash: "old") }
        let untouched = DaemonSetController.plan(daemonSet, nodes: nodes, pods: pods)
        #expect(untouched.create.isEmpty && untouched.delete.isEmpty)
        #expect(untouched.status.number("updatedNumberScheduled") == 0)
        let afterDelete = DaemonSetController.plan(daemonSet, nodes: nodes, pods: [pods[1]])
        #expect(afterDelete.create == ["a"] && afterDelete.delete.isEmpty)
        // A pod held by a finalizer keeps its node from getting a new one until it is gone.
        let held = pods[0].with("2025-01-01T00:00:00Z", at: "deletionTimestamp")
        #expect(DaemonSetController.plan(daemonSet, nodes: nodes, pods: [held, pods[1]]).create.isEmpty)
    }
}

extension JSONValue {
    /// A copy with `metadata.<key>` set.
    func with(_ value: String, at key: String) -> JSONValue {
        var copy = self
        copy.setValue(.string(value), at: ["metadata", key])
        return copy
    }
}
