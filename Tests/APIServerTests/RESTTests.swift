import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

@Suite("REST semantics")
struct RESTTests {
    let pods = "/api/v1/namespaces/default/pods"

    @Test func createGetListDelete() async throws {
        try await withServer { _, client in
            let created = try await client.request(.POST, pods, json: podJSON("web", labels: ["app": "web"]))
            #expect(created.status == 201)
            let pod = created.json
            #expect(pod.string("metadata.name") == "web")
            #expect(pod.string("metadata.namespace") == "default")
            #expect(pod.string("metadata.uid")?.count == 36)
            #expect(pod.number("metadata.generation") == 1)
            #expect(pod.string("status.phase") == "Pending")
            let timestamp = try #require(pod.string("metadata.creationTimestamp"))
            #expect(timestamp.hasSuffix("Z") && timestamp.count == 20)
            #expect(pod.string("kind") == "Pod" && pod.string("apiVersion") == "v1")

            let fetched = try await client.request(.GET, pods + "/web")
            #expect(fetched.status == 200)
            #expect(fetched.json == pod)

            let list = try await client.request(.GET, pods)
            #expect(list.json.string("kind") == "PodList")
            #expect(list.json.string("apiVersion") == "v1")
            #expect(list.json.itemNames == ["web"])
            #expect(list.json.string("metadata.resourceVersion") == pod.string("metadata.resourceVersion"))

            let all = try await client.request(.GET, "/api/v1/pods")
            #expect(all.json.itemNames == ["web"])

            let deleted = try await client.request(.DELETE, pods + "/web")
            #expect(deleted.status == 200)
            #expect(deleted.json.string("metadata.name") == "web")
            let missing = try await client.request(.GET, pods + "/web")
            #expect(missing.status == 404)
        }
    }

    @Test func errorStatusBodies() async throws {
        try await withServer { _, client in
            let missing = try await client.request(.GET, pods + "/nope")
            #expect(missing.status == 404)
            #expect(missing.json.string("kind") == "Status")
            #expect(missing.json.string("status") == "Failure")
            #expect(missing.json.string("reason") == "NotFound")
            #expect(missing.json.string("message") == "pods \"nope\" not found")
            #expect(missing.json.string("details.name") == "nope")
            #expect(missing.json.string("details.kind") == "pods")
            #expect(missing.json.number("code") == 404)

            let groupMissing = try await client.request(.GET, "/apis/apps/v1/namespaces/default/deployments/d")
            #expect(groupMissing.json.string("message") == "deployments.apps \"d\" not found")
            #expect(groupMissing.json.string("details.group") == "apps")

            _ = try await client.request(.POST, pods, json: podJSON("dup"))
            let duplicate = try await client.request(.POST, pods, json: podJSON("dup"))
            #expect(duplicate.status == 409)
            #expect(duplicate.json.string("reason") == "AlreadyExists")
            #expect(duplicate.json.string("message") == "pods \"dup\" already exists")

            let invalid = try await client.request(.POST, pods, json: podJSON("Bad_Name"))
            #expect(invalid.status == 422)
            #expect(invalid.json.string("reason") == "Invalid")
            #expect(invalid.json.string("details.kind") == "Pod")
            #expect(invalid.json.string("details.causes.0.field") == "metadata.name")
            #expect(invalid.json.string("details.causes.0.reason") == "FieldValueInvalid")
            #expect(
                invalid.json.string("message")?.hasPrefix("Pod \"Bad_Name\" is invalid: metadata.name: Invalid value")
                    == true)

            let service = try await client.request(
                .POST, "/api/v1/namespaces/default/services",
                json: #"{"metadata": {"name": "1abc"}, "spec": {"ports": [{"port": 80}]}}"#)
            #expect(service.status == 422, "service names are RFC 1035 labels")

            let noName = try await client.request(.POST, pods, json: #"{"metadata": {}}"#)
            #expect(noName.status == 422)
            #expect(noName.json.string("details.causes.0.reason") == "FieldValueRequired")

            let noNamespace = try await client.request(.POST, "/api/v1/namespaces/ghost/pods", json: podJSON("p"))
            #expect(noNamespace.status == 404)
            #expect(noNamespace.json.string("message") == "namespaces \"ghost\" not found")

            let wrongNamespace = try await client.request(.POST, pods, json: podJSON("p", namespace: "kube-system"))
            #expect(wrongNamespace.status == 400)
            #expect(wrongNamespace.json.string("reason") == "BadRequest")

            let unknown = try await client.request(.GET, "/api/v1/widgets")
            #expect(unknown.status == 404)
            #expect(unknown.json.string("reason") == "NotFound")
            let unknownGroup = try await client.request(.GET, "/apis/example.com/v1")
            #expect(unknownGroup.status == 404)
        }
    }

    @Test func badBodiesStoreNothing() async throws {
        try await withServer { server, client in
            let before = await server.store.resourceVersion
            let malformed = try await client.request(.POST, pods, json: #"{"metadata": {"name": "x""#)
            #expect(malformed.status == 400)
            #expect(malformed.json.string("reason") == "BadRequest")
            let notObject = try await client.request(.POST, pods, json: "[1, 2]")
            #expect(notObject.status == 400)
            let badMetadata = try await client.request(
                .POST, pods, json: #"{"metadata": {"name": "x", "labels": {"a": 1}}}"#)
            #expect(badMetadata.status == 400)
            let wrongKind = try await client.request(
                .POST, pods, json: #"{"kind": "Service", "metadata": {"name": "x"}}"#)
            #expect(wrongKind.status == 400)
            let big = Data(
                ("{\"metadata\": {\"name\": \"big\"}, \"data\": \"" + String(repeating: "a", count: 3 * 1024 * 1024)
                    + "\"}").utf8)
            let tooLarge = try await client.request(.POST, "/api/v1/namespaces/default/configmaps", body: big)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.json.string("reason") == "RequestEntityTooLarge")
            #expect(await server.store.resourceVersion == before)
            #expect(try await client.request(.GET, pods).json.itemNames.isEmpty)
            #expect(try await client.request(.GET, "/api/v1/namespaces/default/configmaps").json.itemNames.isEmpty)
        }
    }

    @Test func optimisticConcurrencyAndGeneration() async throws {
        try await withServer { _, client in
            let cm = "/api/v1/namespaces/default/configmaps"
            let created = try await client.request(.POST, cm, json: #"{"metadata": {"name": "c"}, "data": {"a": "1"}}"#)
                .json
            let rv = try #require(created.string("metadata.resourceVersion"))
            var updated = created
            updated["data"] = .object(["a": .string("2")])
            let first = try await client.request(.PUT, cm + "/c", body: JSONCoding.data(updated))
            #expect(first.status == 200)
            #expect(first.json.string("data.a") == "2")
            #expect(first.json.number("metadata.generation") == 2)
            #expect(first.json.string("metadata.uid") == created.string("metadata.uid"))
            #expect(Int(first.json.string("metadata.resourceVersion") ?? "") ?? 0 > Int(rv) ?? 0)

            // The same stale resourceVersion again: 409 Conflict, nothing changed.
            updated["data"] = .object(["a": .string("3")])
            let stale = try await client.request(.PUT, cm + "/c", body: JSONCoding.data(updated))
            #expect(stale.status == 409)
            #expect(stale.json.string("reason") == "Conflict")
            #expect(
                stale.json.string("message")
                    == "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
            )
            #expect(try await client.request(.GET, cm + "/c").json.string("data.a") == "2")

            // Without a resourceVersion the update is unconditional; a label-only change keeps the generation.
            updated.setPath("metadata.resourceVersion", nil)
            updated.setPath("metadata.labels", .object(["x": .string("y")]))
            updated["data"] = .object(["a": .string("2")])
            let unconditional = try await client.request(.PUT, cm + "/c", body: JSONCoding.data(updated))
            #expect(unconditional.status == 200)
            #expect(unconditional.json.number("metadata.generation") == 2)
            #expect(unconditional.json.string("metadata.labels.x") == "y")

            // A no-op update writes nothing.
            let noop = try await client.request(.PUT, cm + "/c", body: unconditional.body)
            #expect(
                noop.json.string("metadata.resourceVersion") == unconditional.json.string("metadata.resourceVersion"))

            let renamed = try await client.request(.PUT, cm + "/other", body: unconditional.body)
            #expect(renamed.status == 400)
            let absent = try await client.request(.PUT, cm + "/zzz", json: #"{"metadata": {"name": "zzz"}}"#)
            #expect(absent.status == 404)
        }
    }

    @Test func generateName() async throws {
        try await withServer { _, client in
            let first = try await client.request(
                .POST, pods, json: #"{"metadata": {"generateName": "web-"}, "spec": {}}"#)
            let second = try await client.request(
                .POST, pods, json: #"{"metadata": {"generateName": "web-"}, "spec": {}}"#)
            #expect(first.status == 201 && second.status == 201)
            let name1 = try #require(first.json.string("metadata.name"))
            let name2 = try #require(second.json.string("metadata.name"))
            #expect(name1.hasPrefix("web-") && name1.count == 9)
            #expect(name1 != name2)
            #expect(first.json.string("metadata.generateName") == "web-")
            let bad = try await client.request(.POST, pods, json: #"{"metadata": {"generateName": "Web_"}}"#)
            #expect(bad.status == 422)
            #expect(bad.json.string("details.causes.0.field") == "metadata.generateName")
        }
    }

    @Test func finalizersDelayDeletion() async throws {
        try await withServer { _, client in
            let cm = "/api/v1/namespaces/default/configmaps"
            _ = try await client.request(
                .POST, cm, json: #"{"metadata": {"name": "f", "finalizers": ["example.com/keep"]}}"#)
            let deleting = try await client.request(.DELETE, cm + "/f")
            #expect(deleting.status == 200)
            #expect(deleting.json.string("metadata.deletionTimestamp") != nil)
            let still = try await client.request(.GET, cm + "/f")
            #expect(still.status == 200)
            #expect(
                still.json.string("metadata.deletionTimestamp") == deleting.json.string("metadata.deletionTimestamp"))
            // Deleting again changes nothing.
            let again = try await client.request(.DELETE, cm + "/f")
            #expect(again.json.string("metadata.resourceVersion") == still.json.string("metadata.resourceVersion"))
            // Clearing the finalizers completes the deletion.
            let cleared = try await client.request(
                .PATCH, cm + "/f", json: #"{"metadata": {"finalizers": null}}"#,
                contentType: "application/merge-patch+json")
            #expect(cleared.status == 200)
            #expect(try await client.request(.GET, cm + "/f").status == 404)
        }
    }

    @Test func statusSubresource() async throws {
        try await withServer { _, client in
            let created = try await client.request(.POST, pods, json: podJSON("s")).json
            // The main endpoint ignores status.
            var changed = created
            changed.setPath("status", .object(["phase": .string("Running")]))
            changed.setPath("spec.nodeName", .string("n1"))
            let main = try await client.request(.PUT, pods + "/s", body: JSONCoding.data(changed))
            #expect(main.status == 200)
            #expect(main.json.string("status.phase") == "Pending")
            #expect(main.json.string("spec.nodeName") == "n1")
            #expect(main.json.number("metadata.generation") == 2)
            // The status endpoint changes status only.
            var statusUpdate = main.json
            statusUpdate.setPath("status", .object(["phase": .string("Running"), "podIP": .string("10.0.0.5")]))
            statusUpdate.setPath("spec.nodeName", .string("n2"))
            let status = try await client.request(.PUT, pods + "/s/status", body: JSONCoding.data(statusUpdate))
            #expect(status.status == 200)
            #expect(status.json.string("status.phase") == "Running")
            #expect(status.json.string("spec.nodeName") == "n1")
            #expect(status.json.number("metadata.generation") == 2)
            let patched = try await client.request(
                .PATCH, pods + "/s/status", json: #"{"status": {"phase": "Succeeded"}, "spec": {"nodeName": "n3"}}"#,
                contentType: "application/merge-patch+json")
            #expect(patched.json.string("status.phase") == "Succeeded")
            #expect(patched.json.string("status.podIP") == "10.0.0.5")
            #expect(patched.json.string("spec.nodeName") == "n1")
            let noStatus = try await client.request(.GET, "/api/v1/namespaces/default/configmaps/x/status")
            #expect(noStatus.status == 404)
        }
    }

    @Test func patches() async throws {
        try await withServer { _, client in
            let cm = "/api/v1/namespaces/default/configmaps"
            _ = try await client.request(.POST, cm, json: #"{"metadata": {"name": "p"}, "data": {"a": "1", "b": "2"}}"#)
            let merge = try await client.request(
                .PATCH, cm + "/p", json: #"{"data": {"a": null, "c": "3"}}"#,
                contentType: "application/merge-patch+json")
            #expect(merge.status == 200)
            #expect(merge.json.at("data") == .object(["b": .string("2"), "c": .string("3")]))

            let json = try await client.request(
                .PATCH, cm + "/p",
                json:
                    #"[{"op": "test", "path": "/data/b", "value": "2"}, {"op": "replace", "path": "/data/b", "value": "20"}, {"op": "add", "path": "/metadata/labels", "value": {"k": "v"}}, {"op": "remove", "path": "/data/c"}]"#,
                contentType: "application/json-patch+json")
            #expect(json.status == 200)
            #expect(json.json.at("data") == .object(["b": .string("20")]))
            #expect(json.json.string("metadata.labels.k") == "v")

            let failedTest = try await client.request(
                .PATCH, cm + "/p",
                json: #"[{"op": "test", "path": "/data/b", "value": "nope"}, {"op": "remove", "path": "/data/b"}]"#,
                contentType: "application/json-patch+json")
            #expect(failedTest.status == 422)
            #expect(try await client.request(.GET, cm + "/p").json.string("data.b") == "20")

            let stale = try await client.request(
                .PATCH, cm + "/p", json: #"{"metadata": {"resourceVersion": "1"}, "data": {"x": "y"}}"#,
                contentType: "application/merge-patch+json")
            #expect(stale.status == 409)

            let unsupported = try await client.request(
                .PATCH, cm + "/p", json: "{}", contentType: "application/apply-patch+yaml")
            #expect(unsupported.status == 415)
            #expect(unsupported.json.string("reason") == "UnsupportedMediaType")

            let malformed = try await client.request(
                .PATCH, cm + "/p", json: "{", contentType: "application/merge-patch+json")
            #expect(malformed.status == 400)
            let missing = try await client.request(
                .PATCH, cm + "/none", json: "{}", contentType: "application/merge-patch+json")
            #expect(missing.status == 404)
        }
    }

    @Test func strategicMergePatchOfServicePorts() async throws {
        try await withServer { _, client in
            let services = "/api/v1/namespaces/default/services"
            _ = try await client.request(
                .POST, services,
                json:
                    #"{"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "https", "port": 443}]}}"#
            )
            // Change one port's targetPort, add a port: other ports stay (a merge patch would replace the list).
            let changed = try await client.request(
                .PATCH, services + "/web",
                json: #"{"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"name": "metrics", "port": 9100}]}}"#,
                contentType: "application/strategic-merge-patch+json")
            #expect(changed.status == 200)
            let ports = changed.json.at("spec.ports")?.arrayValue ?? []
            #expect(ports.compactMap { $0["port"] } == [.number(80), .number(443), .number(9100)])
            #expect(changed.json.number("spec.ports.0.targetPort") == 9090)
            // Defaults as kube fills them in: protocol, targetPort, type.
            #expect(changed.json.string("spec.ports.2.protocol") == "TCP")
            #expect(changed.json.number("spec.ports.2.targetPort") == 9100)
            #expect(changed.json.string("spec.type") == "ClusterIP")
            #expect(changed.json.string("spec.ports.0.name") == "http")

            // What kubectl apply sends to remove a port.
            let removed = try await client.request(
                .PATCH, services + "/web",
                json:
                    #"{"spec": {"$setElementOrder/ports": [{"port": 9100}, {"port": 80}], "ports": [{"$patch": "delete", "port": 443}]}}"#,
                contentType: "application/strategic-merge-patch+json")
            #expect(removed.status == 200)
            let left = removed.json.at("spec.ports")?.arrayValue ?? []
            #expect(left.compactMap { $0["port"] } == [.number(9100), .number(80)])
        }
    }

    @Test func selectorsAndDeleteCollection() async throws {
        try await withServer { _, client in
            _ = try await client.request(
                .POST, pods, json: podJSON("a", labels: ["app": "web", "tier": "front"], node: "n1"))
            _ = try await client.request(
                .POST, pods, json: podJSON("b", labels: ["app": "web", "tier": "back"], node: "n2"))
            _ = try await client.request(.POST, pods, json: podJSON("c", labels: ["app": "db"]))
            func names(_ query: String) async throws -> [String] {
                try await client.request(.GET, pods + "?" + query).json.itemNames
            }
            #expect(try await names("labelSelector=app%3Dweb") == ["a", "b"])
            #expect(try await names("labelSelector=app%3Dweb,tier!%3Dfront") == ["b"])
            #expect(try await names("labelSelector=tier+in+%28front%2Cback%29") == ["a", "b"])
            #expect(try await names("labelSelector=tier+notin+%28front%29") == ["b", "c"])
            #expect(try await names("labelSelector=!tier") == ["c"])
            #expect(try await names("labelSelector=tier") == ["a", "b"])
            #expect(try await names("fieldSelector=spec.nodeName%3Dn2") == ["b"])
            #expect(try await names("fieldSelector=spec.nodeName%3D") == ["c"])
            #expect(try await names("fieldSelector=metadata.name!%3Da,metadata.namespace%3Ddefault") == ["b", "c"])
            #expect(try await client.request(.GET, pods + "?fieldSelector=spec.foo%3D1").status == 400)
            #expect(try await client.request(.GET, pods + "?labelSelector=a+in+%28b").status == 400)

            let deleted = try await client.request(.DELETE, pods + "?labelSelector=app%3Dweb")
            #expect(deleted.status == 200)
            #expect(deleted.json.itemNames == ["a", "b"])
            #expect(try await names("") == ["c"])
        }
    }

    @Test func namespacesAndClusterScope() async throws {
        try await withServer { _, client in
            let namespaces = try await client.request(.GET, "/api/v1/namespaces").json.itemNames
            #expect(namespaces == ["default", "kube-public", "kube-system"])
            let created = try await client.request(
                .POST, "/api/v1/namespaces", json: #"{"metadata": {"name": "team"}}"#)
            #expect(created.status == 201)
            #expect(created.json.at("metadata.labels")?["kubernetes.io/metadata.name"] == .string("team"))
            #expect(created.json.string("status.phase") == "Active")
            #expect(created.json.string("metadata.namespace") == nil)
            _ = try await client.request(.POST, "/api/v1/namespaces/team/pods", json: podJSON("p"))
            #expect(try await client.request(.GET, "/api/v1/pods").json.itemNames == ["p"])
            // A cluster-scoped kind is not addressable inside a namespace, a namespaced one not outside.
            #expect(try await client.request(.GET, "/api/v1/namespaces/team/nodes").status == 404)
            #expect(try await client.request(.GET, "/api/v1/pods/p").status == 404)
            let badName = try await client.request(.POST, "/api/v1/namespaces", json: #"{"metadata": {"name": "a.b"}}"#)
            #expect(badName.status == 422)
            // Deleting a namespace deletes what is in it.
            #expect(try await client.request(.DELETE, "/api/v1/namespaces/team").status == 200)
            #expect(try await client.request(.GET, "/api/v1/pods").json.itemNames.isEmpty)
            let system = try await client.request(.DELETE, "/api/v1/namespaces/default")
            #expect(system.status == 403)
            let node = try await client.request(
                .POST, "/api/v1/nodes", json: #"{"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "2"}}}"#)
            #expect(node.status == 201)
            #expect(node.json.string("status.capacity.cpu") == "2")
            let deployment = try await client.request(
                .POST, "/apis/apps/v1/namespaces/default/deployments",
                json: #"{"metadata": {"name": "d"}, "spec": {"replicas": 1}}"#)
            #expect(deployment.status == 201)
            #expect(deployment.json.string("apiVersion") == "apps/v1")
        }
    }
}

extension JSONValue {
    mutating func setPath(_ path: String, _ value: JSONValue?) {
        let keys = path.split(separator: ".").map(String.init)
        func set(_ node: inout JSONValue, _ keys: ArraySlice<String>) {
            guard let key = keys.first else { return }
            if keys.count == 1 {
                node[key] = value
                return
            }
            var child = node[key] ?? .object([:])
            set(&child, keys.dropFirst())
            node[key] = child
        }
        set(&self, keys[...])
    }
}

enum JSONCoding {
    static func data(_ value: JSONValue) throws -> Data { try JSONEncoder().encode(value) }
}
