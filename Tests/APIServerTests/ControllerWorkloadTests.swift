import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

/// The Deployment and DaemonSet controllers in a running server: pods created, scaled, rolled over, placed on
/// nodes and garbage collected; the `scale` subresource; and the real kubectl's `scale` and `rollout status`.
@Suite("Workload controllers")
struct ControllerWorkloadTests {
    static let deployments = "/apis/apps/v1/namespaces/default/deployments"
    static let daemonSets = "/apis/apps/v1/namespaces/default/daemonsets"
    static let pods = "/api/v1/namespaces/default/pods"

    struct NotReached: Error, CustomStringConvertible {
        var description: String
    }

    /// Polls (every 50 ms, for at most 30 s) until `probe` gives a value.
    @discardableResult
    static func eventually<T>(_ what: String, _ probe: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NotReached(description: "timed out waiting for \(what)")
    }

    /// Polls like `eventually` until `condition` holds.
    static func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        try await eventually(what) { try await condition() ? true : nil }
    }

    static func deploymentJSON(_ name: String, replicas: Int, image: String = "nginx:1", strategy: String = "{}")
        -> String
    {
        """
        {"metadata": {"name": "\(name)"},
         "spec": {"replicas": \(replicas), "selector": {"matchLabels": {"app": "\(name)"}}, "strategy": \(strategy),
          "template": {"metadata": {"labels": {"app": "\(name)"}},
                       "spec": {"containers": [{"name": "c", "image": "\(image)"}]}}}}
        """
    }

    static func daemonSetJSON(_ name: String, image: String = "agent:1") -> String {
        """
        {"metadata": {"name": "\(name)"},
         "spec": {"selector": {"matchLabels": {"app": "\(name)"}},
          "template": {"metadata": {"labels": {"app": "\(name)"}},
                       "spec": {"containers": [{"name": "c", "image": "\(image)"}]}}}}
        """
    }

    static func nodeJSON(_ name: String, ready: Bool) -> String {
        """
        {"metadata": {"name": "\(name)"},
         "status": {"conditions": [{"type": "Ready", "status": "\(ready ? "True" : "False")"}]}}
        """
    }

    static func isReady(_ pod: JSONValue) -> Bool {
        pod.at("status.conditions")?.arrayValue?.contains {
            $0.string("type") == "Ready" && $0.string("status") == "True"
        } ?? false
    }

    static func condition(_ object: JSONValue, _ type: String) -> JSONValue? {
        object.at("status.conditions")?.arrayValue?.first { $0.string("type") == type }
    }

    /// The pods whose controller has `uid`, sorted by name.
    static func podsOwned(by uid: String, _ client: TestClient) async throws -> [JSONValue] {
        let list = try await client.request(.GET, pods).json
        return (list["items"]?.arrayValue ?? []).filter { $0.string("metadata.ownerReferences.0.uid") == uid }
    }

    /// Marks every pod of the default namespace that is not Ready yet as Running and Ready through its status
    /// subresource, as its kubelet would.
    static func markReady(_ client: TestClient) async throws {
        let list = try await client.request(.GET, pods).json
        for pod in list["items"]?.arrayValue ?? [] where !isReady(pod) && pod.at("metadata.deletionTimestamp") == nil {
            _ = try await client.request(
                .PATCH, pods + "/\(pod.string("metadata.name") ?? "")/status",
                json: #"{"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}"#,
                contentType: "application/strategic-merge-patch+json")
        }
    }

    /// Starts a background kubelet that keeps making the default namespace's new pods ready, until its task is
    /// cancelled or the server stops answering.
    static func startKubelet(_ client: TestClient) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                do { try await markReady(client) } catch { return }
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
    }

    /// The default namespace's pods after each pod event since `resourceVersion` (when `initial` was listed), up to
    /// the state `final`: every state the pods went through.
    static func podHistory(
        _ client: TestClient, initial: [JSONValue], from resourceVersion: String, to final: [JSONValue]
    ) async throws -> [[String: JSONValue]] {
        let start = Dictionary(uniqueKeysWithValues: initial.map { ($0.string("metadata.name") ?? "", $0) })
        let target = versions(final)
        let (_, lines) = try await client.watch(pods + "?watch=1&resourceVersion=\(resourceVersion)") { lines in
            versions(Array((replay(lines, from: start).last ?? start).values)) == target
        }
        return replay(lines, from: start)
    }

    private static func versions(_ pods: [JSONValue]) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: pods.map {
                ($0.string("metadata.name") ?? "", $0.string("metadata.resourceVersion") ?? "")
            })
    }

    private static func replay(_ lines: [String], from start: [String: JSONValue]) -> [[String: JSONValue]] {
        var state = start
        var states: [[String: JSONValue]] = []
        for line in lines {
            guard let event = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)),
                let name = event.string("object.metadata.name")
            else { continue }
            state[name] = event.string("type") == "DELETED" ? nil : event["object"]
            states.append(state)
        }
        return states
    }

    // MARK: Deployments

    @Test func deploymentCreatesAndScalesOwnedPods() async throws {
        try await withServer { _, client in
            let created = try await client.request(
                .POST, Self.deployments, json: Self.deploymentJSON("web", replicas: 3))
            #expect(created.status == 201)
            #expect(created.json.string("spec.strategy.type") == "RollingUpdate", "defaulted")
            let uid = created.json.string("metadata.uid") ?? ""

            let pods = try await Self.eventually("three pods") {
                let pods = try await Self.podsOwned(by: uid, client)
                return pods.count == 3 ? pods : nil
            }
            let hash = pods[0].string("metadata.labels.pod-template-hash") ?? ""
            #expect(!hash.isEmpty)
            let owner: JSONValue = .object([
                "apiVersion": .string("apps/v1"), "kind": .string("Deployment"), "name": .string("web"),
                "uid": .string(uid), "controller": .bool(true), "blockOwnerDeletion": .bool(true),
            ])
            for pod in pods {
                let name = pod.string("metadata.name") ?? ""
                #expect(name.hasPrefix("web-\(hash)-") && name.count == "web-\(hash)-".count + 5, "\(name)")
                #expect(name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
                #expect(pod.at("metadata.ownerReferences") == .array([owner]))
                #expect(pod.string("metadata.labels.app") == "web")
                #expect(pod.string("metadata.labels.pod-template-hash") == hash)
                #expect(pod.string("metadata.namespace") == "default")
                #expect(pod.string("spec.containers.0.image") == "nginx:1")
                #expect(pod.string("status.phase") == "Pending")
            }
            #expect(Set(pods.map { $0.string("metadata.name") }).count == 3)
            let unavailable = try await Self.eventually("status: three unavailable") {
                let deployment = try await client.request(.GET, Self.deployments + "/web").json
                return deployment.number("status.replicas") == 3 ? deployment : nil
            }
            #expect(unavailable.number("status.unavailableReplicas") == 3)
            #expect(unavailable.number("status.availableReplicas") == 0)
            #expect(Self.condition(unavailable, "Available")?.string("status") == "False")

            try await Self.markReady(client)
            let available = try await Self.eventually("status: three available") {
                let deployment = try await client.request(.GET, Self.deployments + "/web").json
                return deployment.number("status.availableReplicas") == 3 ? deployment : nil
            }
            #expect(available.number("status.readyReplicas") == 3 && available.number("status.updatedReplicas") == 3)
            #expect(available.number("status.unavailableReplicas") == 0)
            #expect(available.number("status.observedGeneration") == 1)
            #expect(Self.condition(available, "Available")?.string("status") == "True")
            #expect(Self.condition(available, "Available")?.string("reason") == "MinimumReplicasAvailable")
            #expect(Self.condition(available, "Progressing")?.string("reason") == "NewReplicaSetAvailable")

            let scaled = try await client.request(
                .PATCH, Self.deployments + "/web", json: #"{"spec": {"replicas": 1}}"#,
                contentType: "application/merge-patch+json")
            #expect(scaled.status == 200)
            #expect(scaled.json.number("metadata.generation") == 2, "a spec change moves the generation")
            let survivor = try await Self.eventually("one pod left") {
                let left = try await Self.podsOwned(by: uid, client)
                return left.count == 1 ? left[0] : nil
            }
            #expect(pods.contains { $0.string("metadata.name") == survivor.string("metadata.name") })
            try await Self.waitUntil("status of one replica, generation 2 observed") {
                let deployment = try await client.request(.GET, Self.deployments + "/web").json
                let done =
                    deployment.number("status.replicas") == 1 && deployment.number("status.observedGeneration") == 2
                return done
            }
        }
    }

    @Test func templateChangeRollsPodsWithinBounds() async throws {
        try await withServer { _, client in
            let strategy = #"{"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}"#
            let created = try await client.request(
                .POST, Self.deployments, json: Self.deploymentJSON("web", replicas: 4, strategy: strategy))
            let uid = created.json.string("metadata.uid") ?? ""
            let warmup = Self.startKubelet(client)
            try await Self.waitUntil("four available pods") {
                let deployment = try await client.request(.GET, Self.deployments + "/web").json
                return deployment.number("status.availableReplicas") == 4
            }
            warmup.cancel()
            await warmup.value
            let before = try await client.request(.GET, Self.pods).json
            let oldHash = Set(
                (before["items"]?.arrayValue ?? []).map { $0.string("metadata.labels.pod-template-hash") })
            #expect(oldHash.count == 1)

            let kubelet = Self.startKubelet(client)
            let changed = try await client.request(
                .PATCH, Self.deployments + "/web",
                json: #"{"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}}"#,
                contentType: "application/strategic-merge-patch+json")
            #expect(changed.status == 200)
            try await Self.waitUntil("rolled out") {
                let deployment = try await client.request(.GET, Self.deployments + "/web").json
                let pods = try await Self.podsOwned(by: uid, client)
                let done =
                    deployment.number("status.observedGeneration") == 2
                    && deployment.number("status.updatedReplicas") == 4
                    && deployment.number("status.replicas") == 4
                    && deployment.number("status.availableReplicas") == 4 && pods.count == 4
                    && pods.allSatisfy { $0.string("spec.containers.0.image") == "nginx:2" && Self.isReady($0) }
                return done
            }
            kubelet.cancel()
            await kubelet.value
            let after = try await client.request(.GET, Self.pods).json["items"]?.arrayValue ?? []
            #expect(after.allSatisfy { !oldHash.contains($0.string("metadata.labels.pod-template-hash")) })
            let history = try await Self.podHistory(
                client, initial: before["items"]?.arrayValue ?? [],
                from: before.string("metadata.resourceVersion") ?? "", to: after)
            #expect(history.count >= 8, "at least four pods deleted and four created")
            for state in history {
                let owned = state.values.filter { $0.string("metadata.ownerReferences.0.uid") == uid }
                #expect(
                    owned.count(where: Self.isReady) >= 3, "below replicas - maxUnavailable: \(state.keys.sorted())")
                #expect(owned.count <= 5, "above replicas + maxSurge: \(state.keys.sorted())")
            }
        }
    }

    // MARK: DaemonSets

    @Test func daemonSetFollowsNodes() async throws {
        try await withServer { _, client in
            for (name, ready) in [("n1", true), ("n2", true), ("n3", false)] {
                #expect(
                    try await client.request(.POST, "/api/v1/nodes", json: Self.nodeJSON(name, ready: ready)).status
                        == 201)
            }
            let created = try await client.request(.POST, Self.daemonSets, json: Self.daemonSetJSON("agent"))
            #expect(created.status == 201)
            #expect(created.json.string("spec.updateStrategy.type") == "RollingUpdate", "defaulted")
            let uid = created.json.string("metadata.uid") ?? ""
            /// The DaemonSet's pods by node, when there is one per node on exactly `nodes`.
            func placement(_ nodes: Set<String>) async throws -> [String: JSONValue]? {
                let pods = try await Self.podsOwned(by: uid, client)
                let byNode = Dictionary(pods.map { ($0.string("spec.nodeName") ?? "", $0) }) { a, _ in a }
                return pods.count == nodes.count && Set(byNode.keys) == nodes ? byNode : nil
            }
            func status() async throws -> JSONValue {
                try await client.request(.GET, Self.daemonSets + "/agent").json
            }

            let first = try await Self.eventually("pods on n1 and n2") { try await placement(["n1", "n2"]) }
            for pod in first.values {
                let name = pod.string("metadata.name") ?? ""
                #expect(name.hasPrefix("agent-") && name.count == "agent-".count + 5, "\(name)")
                #expect(pod.string("metadata.ownerReferences.0.kind") == "DaemonSet")
                #expect(pod.at("metadata.ownerReferences.0.controller") == .bool(true))
                #expect(pod.string("metadata.labels.app") == "agent")
                #expect(!(pod.string("metadata.labels.controller-revision-hash") ?? "").isEmpty)
            }
            let initial = try await Self.eventually("status of two scheduled") {
                let daemonSet = try await status()
                return daemonSet.number("status.currentNumberScheduled") == 2 ? daemonSet : nil
            }
            #expect(initial.number("status.desiredNumberScheduled") == 2)
            #expect(initial.number("status.numberUnavailable") == 2 && initial.number("status.numberReady") == 0)
            #expect(initial.number("status.updatedNumberScheduled") == 2)
            #expect(initial.number("status.observedGeneration") == 1)

            // A new node and a node turning Ready get pods; a deleted node's pod goes.
            #expect(
                try await client.request(.POST, "/api/v1/nodes", json: Self.nodeJSON("n4", ready: true)).status == 201)
            let readied = try await client.request(
                .PATCH, "/api/v1/nodes/n3/status",
                json: #"{"status": {"conditions": [{"type": "Ready", "status": "True"}]}}"#,
                contentType: "application/merge-patch+json")
            #expect(readied.status == 200)
            #expect(try await client.request(.DELETE, "/api/v1/nodes/n1").status == 200)
            let moved = try await Self.eventually("pods on n2, n3, n4") { try await placement(["n2", "n3", "n4"]) }
            #expect(moved["n2"]?.string("metadata.uid") == first["n2"]?.string("metadata.uid"), "n2's pod stayed")

            try await Self.markReady(client)
            let ready = try await Self.eventually("three ready") {
                let daemonSet = try await status()
                return daemonSet.number("status.numberReady") == 3 ? daemonSet : nil
            }
            #expect(ready.number("status.numberAvailable") == 3 && ready.number("status.numberUnavailable") == 0)
            #expect(ready.number("status.desiredNumberScheduled") == 3)

            // Cordoning a node keeps its daemon (daemon pods tolerate `unschedulable`): once n3 is deleted after
            // the cordon, the pods are on n2 and the cordoned n4.
            _ = try await client.request(
                .PATCH, "/api/v1/nodes/n4", json: #"{"spec": {"unschedulable": true}}"#,
                contentType: "application/merge-patch+json")
            #expect(try await client.request(.DELETE, "/api/v1/nodes/n3").status == 200)
            let kept = try await Self.eventually("pods on n2 and n4") { try await placement(["n2", "n4"]) }
            #expect(kept["n4"]?.string("metadata.uid") == moved["n4"]?.string("metadata.uid"), "n4's pod stayed")

            // A template change replaces the pods one node at a time.
            let before = try await client.request(.GET, Self.pods).json
            let kubelet = Self.startKubelet(client)
            let changed = try await client.request(
                .PATCH, Self.daemonSets + "/agent",
                json: #"{"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "agent:2"}]}}}}"#,
                contentType: "application/strategic-merge-patch+json")
            #expect(changed.status == 200)
            try await Self.waitUntil("rolled out") {
                let daemonSet = try await status()
                let pods = try await Self.podsOwned(by: uid, client)
                let done =
                    daemonSet.number("status.observedGeneration") == 2
                    && daemonSet.number("status.updatedNumberScheduled") == 2
                    && daemonSet.number("status.numberAvailable") == 2 && pods.count == 2
                    && pods.allSatisfy { $0.string("spec.containers.0.image") == "agent:2" && Self.isReady($0) }
                return done
            }
            kubelet.cancel()
            await kubelet.value
            let after = try await client.request(.GET, Self.pods).json["items"]?.arrayValue ?? []
            let history = try await Self.podHistory(
                client, initial: before["items"]?.arrayValue ?? [],
                from: before.string("metadata.resourceVersion") ?? "", to: after)
            #expect(history.count >= 4)
            for state in history {
                let owned = state.values.filter { $0.string("metadata.ownerReferences.0.uid") == uid }
                #expect(owned.count(where: Self.isReady) >= 1, "both nodes unavailable: \(state.keys.sorted())")
                let nodes = owned.map { $0.string("spec.nodeName") ?? "" }
                #expect(Set(nodes).count == nodes.count, "two pods on one node: \(nodes)")
            }
        }
    }

    // MARK: Garbage collection

    @Test func deletingAnOwnerDeletesItsPodsUnlessOrphaned() async throws {
        try await withServer { _, client in
            _ = try await client.request(.POST, "/api/v1/nodes", json: Self.nodeJSON("n1", ready: true))
            #expect(try await client.request(.POST, Self.pods, json: podJSON("solo")).status == 201)
            var uids: [String: String] = [:]
            for name in ["web", "kept"] {
                let created = try await client.request(
                    .POST, Self.deployments, json: Self.deploymentJSON(name, replicas: 2))
                uids[name] = created.json.string("metadata.uid")
            }
            let daemonSet = try await client.request(.POST, Self.daemonSets, json: Self.daemonSetJSON("agent"))
            let daemonSetUID = daemonSet.json.string("metadata.uid") ?? ""
            try await Self.waitUntil("the owned pods") {
                let web = try await Self.podsOwned(by: uids["web"] ?? "", client).count
                let kept = try await Self.podsOwned(by: uids["kept"] ?? "", client).count
                let agent = try await Self.podsOwned(by: daemonSetUID, client).count
                return web == 2 && kept == 2 && agent == 1
            }
            let keptPods = try await Self.podsOwned(by: uids["kept"] ?? "", client).compactMap {
                $0.string("metadata.name")
            }

            // kubectl delete --cascade=orphan: the pods stay, without their owner reference.
            let orphaning = try await client.request(
                .DELETE, Self.deployments + "/kept", json: #"{"propagationPolicy": "Orphan"}"#)
            #expect(orphaning.status == 200)
            #expect(try await client.request(.DELETE, Self.deployments + "/web").status == 200)
            try await Self.waitUntil("the deployment's pods gone") {
                try await Self.podsOwned(by: uids["web"] ?? "", client).isEmpty
            }
            #expect(try await client.request(.DELETE, Self.daemonSets + "/agent").status == 200)
            try await Self.waitUntil("the daemon set's pods gone") {
                try await Self.podsOwned(by: daemonSetUID, client).isEmpty
            }
            let left = try await client.request(.GET, Self.pods).json
            #expect(left.itemNames == (["solo"] + keptPods).sorted())
            #expect(left["items"]?.arrayValue?.allSatisfy { $0.at("metadata.ownerReferences") == nil } == true)
        }
    }

    @Test func podsOfMissingOwnersAreCollectedAfterRestart() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        func ownedPod(_ name: String, kind: String, finalizer: Bool = false) -> String {
            let finalizers = finalizer ? #", "finalizers": ["test/hold"]"# : ""
            return """
                {"metadata": {"name": "\(name)"\(finalizers), "ownerReferences": [{"apiVersion": "apps/v1",
                  "kind": "\(kind)", "name": "gone", "uid": "uid-gone", "controller": true}]},
                 "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
                """
        }
        // Written while no controller runs, as if the owners were deleted while the server was down.
        try await withServer(dataDir: directory, configure: { $0.controllers = false }) { _, client in
            for body in [
                ownedPod("orphan", kind: "Deployment"), ownedPod("held", kind: "Deployment", finalizer: true),
                ownedPod("orphan-ds", kind: "DaemonSet"), ownedPod("replica", kind: "ReplicaSet"),
            ] {
                let created = try await client.request(.POST, Self.pods, json: body)
                #expect(created.status == 201)
            }
            let created = try await client.request(
                .POST, Self.deployments, json: Self.deploymentJSON("web", replicas: 1))
            #expect(created.status == 201)
        }
        try await withServer(dataDir: directory) { _, client in
            let names = try await Self.eventually("the orphans collected") {
                let list = try await client.request(.GET, Self.pods).json
                let names = Set(list.itemNames)
                let collected = !names.contains("orphan") && !names.contains("orphan-ds")
                let webPods = names.filter { $0.hasPrefix("web-") }
                return collected && webPods.count == 1 ? names : nil
            }
            #expect(names.contains("replica"), "a pod of a kind these controllers do not own stays")
            let held = try await client.request(.GET, Self.pods + "/held").json
            #expect(held.string("metadata.deletionTimestamp") != nil, "marked, kept by its finalizer")
        }
    }

    // MARK: The scale subresource

    @Test func scaleSubresource() async throws {
        try await withServer { _, client in
            let body = Self.deploymentJSON("web", replicas: 2).replacingOccurrences(
                of: #""matchLabels": {"app": "web"}"#,
                with: #""matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]"#
            ).replacingOccurrences(of: #""labels": {"app": "web"}"#, with: #""labels": {"app": "web", "tier": "a"}"#)
            let created = try await client.request(.POST, Self.deployments, json: body)
            #expect(created.status == 201)
            let scalePath = Self.deployments + "/web/scale"
            let scale = try await Self.eventually("two replicas in the Scale's status") {
                let scale = try await client.request(.GET, scalePath).json
                return scale.number("status.replicas") == 2 ? scale : nil
            }
            #expect(scale.string("apiVersion") == "autoscaling/v1" && scale.string("kind") == "Scale")
            #expect(scale.string("metadata.name") == "web" && scale.string("metadata.namespace") == "default")
            #expect(scale.string("metadata.uid") == created.json.string("metadata.uid"))
            #expect(scale.number("spec.replicas") == 2)
            #expect(scale.string("status.selector") == "app=web,tier")

            var stale = scale
            stale.setPath("metadata.resourceVersion", .string("1"))
            stale.setPath("spec.replicas", .number(5))
            let conflict = try await client.request(.PUT, scalePath, body: try JSONCoding.data(stale))
            #expect(conflict.status == 409)
            var negative = scale
            negative.setPath("spec.replicas", .number(-1))
            let invalid = try await client.request(.PUT, scalePath, body: try JSONCoding.data(negative))
            #expect(invalid.status == 422)
            #expect(invalid.json.string("message")?.contains("spec.replicas") == true)

            var three = scale
            three.setPath("spec.replicas", .number(3))
            let put = try await client.request(.PUT, scalePath, body: try JSONCoding.data(three))
            #expect(put.status == 200)
            #expect(put.json.string("kind") == "Scale" && put.json.number("spec.replicas") == 3)
            let deployment = try await client.request(.GET, Self.deployments + "/web").json
            #expect(deployment.number("spec.replicas") == 3)
            #expect(deployment.number("metadata.generation") == 2)

            let patched = try await client.request(
                .PATCH, scalePath, json: #"{"spec": {"replicas": 1}}"#, contentType: "application/merge-patch+json")
            #expect(patched.status == 200)
            #expect(patched.json.number("spec.replicas") == 1)
            try await Self.waitUntil("one pod") {
                let list = try await client.request(.GET, Self.pods).json
                return list.itemNames.count == 1
            }

            #expect(try await client.request(.GET, Self.deployments + "/missing/scale").status == 404)
            #expect(try await client.request(.GET, Self.daemonSets + "/agent/scale").status == 404)
            let discovery = try await client.request(.GET, "/apis/apps/v1").json
            let entry = discovery["resources"]?.arrayValue?.first { $0.string("name") == "deployments/scale" }
            #expect(entry?.string("group") == "autoscaling" && entry?.string("version") == "v1")
            #expect(entry?.string("kind") == "Scale")
        }
    }
}

/// `kubectl scale` and `kubectl rollout status` (with kubectl's default flags) against the controllers.
@Suite("kubectl workloads", .enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
struct KubectlWorkloadTests {
    static let manifest = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 2
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
              - name: c
                image: nginx:1
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: agent
        spec:
          selector:
            matchLabels:
              app: agent
          template:
            metadata:
              labels:
                app: agent
            spec:
              containers:
              - name: c
                image: agent:1
        """

    @Test func scaleAndRolloutStatus() async throws {
        try await withServer(tls: true, authentication: true) { server, client in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> KubectlTests.Run {
                try await KubectlTests.run(config, arguments)
            }
            let node = try await client.request(
                .POST, "/api/v1/nodes", json: ControllerWorkloadTests.nodeJSON("n1", ready: true))
            #expect(node.status == 201)
            let path = server.configuration.dataDir + "/workloads.yaml"
            try Self.manifest.write(toFile: path, atomically: true, encoding: .utf8)
            let apply = try await kubectl("apply", "-f", path)
            #expect(apply.status == 0, "\(apply.err)")

            let kubelet = ControllerWorkloadTests.startKubelet(client)
            let rollout = try await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            #expect(rollout.status == 0, "\(rollout.err)")
            #expect(rollout.out.contains("deployment \"web\" successfully rolled out"), "\(rollout.out)")
            let daemon = try await kubectl("rollout", "status", "daemonset/agent", "--timeout=60s")
            #expect(daemon.status == 0, "\(daemon.err)")
            #expect(daemon.out.contains("daemon set \"agent\" successfully rolled out"), "\(daemon.out)")

            let scale = try await kubectl("scale", "deployment", "web", "--replicas=4")
            #expect(scale.status == 0, "\(scale.err)")
            #expect(scale.out.contains("deployment.apps/web scaled"), "\(scale.out)")
            let scaledOut = try await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            #expect(scaledOut.status == 0, "\(scaledOut.err)")
            let four = try await kubectl("get", "pods", "-l", "app=web", "-o", "name")
            #expect(four.out.split(separator: "\n").count == 4, "\(four.out)")

            // With a precondition kubectl reads the Scale and writes it back (GET and PUT).
            let wrong = try await kubectl("scale", "deployment/web", "--current-replicas=7", "--replicas=2")
            #expect(wrong.status != 0)
            #expect(wrong.err.contains("Expected replicas to be 7, was 4"), "\(wrong.err)")
            let checked = try await kubectl("scale", "deployment/web", "--current-replicas=4", "--replicas=1")
            #expect(checked.status == 0, "\(checked.err)")

            let image = try await kubectl("set", "image", "deployment/web", "c=nginx:2")
            #expect(image.status == 0, "\(image.err)")
            let rolled = try await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            #expect(rolled.status == 0, "\(rolled.err)")
            #expect(rolled.out.contains("successfully rolled out"), "\(rolled.out)")
            kubelet.cancel()
            await kubelet.value
            let images = try await kubectl(
                "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}")
            #expect(images.out == "nginx:2", "one pod of the new template: \(images.out)")
            let deployments = try await kubectl("get", "deployments")
            #expect(deployments.status == 0, "\(deployments.err)")
            #expect(deployments.out.contains("web"))
        }
    }
}
