import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

@Suite("EndpointSlice controller")
struct ControllerEndpointSliceTests {
    let pods = "/api/v1/namespaces/default/pods"
    let services = "/api/v1/namespaces/default/services"
    let slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"

    struct NotReached: Error, CustomStringConvertible {
        var description: String
    }

    /// The managed slices of a Service, sorted by address type.
    func slicesOf(_ client: TestClient, _ service: String) async throws -> [JSONValue] {
        let list = try await client.request(.GET, slices + "?labelSelector=kubernetes.io/service-name%3D\(service)")
        return (list.json["items"]?.arrayValue ?? []).sorted {
            ($0.string("addressType") ?? "") < ($1.string("addressType") ?? "")
        }
    }

    /// Polls (for at most 10 s) until `check` holds for the Service's slices; returns them.
    @discardableResult
    func waitForSlices(
        _ client: TestClient, _ service: String, _ what: String, _ check: ([JSONValue]) -> Bool
    ) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + .seconds(10)
        var last: [JSONValue] = []
        while ContinuousClock.now < deadline {
            last = try await slicesOf(client, service)
            if check(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NotReached(description: "\(what); last slices: \((try? JSONValue.array(last).jsonText()) ?? "")")
    }

    /// The endpoints of a slice as `podName: (ready, serving, terminating)`.
    func conditions(_ slice: JSONValue) -> [String: [Bool]] {
        var result: [String: [Bool]] = [:]
        for endpoint in slice["endpoints"]?.arrayValue ?? [] {
            let flags = ["ready", "serving", "terminating"].map { endpoint.at("conditions.\($0)") == .bool(true) }
            result[endpoint.string("targetRef.name") ?? ""] = flags
        }
        return result
    }

    func createPod(
        _ client: TestClient, _ name: String, labels: [String: String], ip: Int, ready: Bool,
        extraSpec: String = "", finalizer: Bool = false
    ) async throws {
        let labelText = labels.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
        let finalizers = finalizer ? #", "finalizers": ["test/hold"]"# : ""
        let created = try await client.request(
            .POST, pods,
            json: """
                {"metadata": {"name": "\(name)", "labels": {\(labelText)}\(finalizers)},
                 "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "busybox",
                   "ports": [{"name": "web", "containerPort": \(8000 + ip)}]}]\(extraSpec)}}
                """)
        #expect(created.status == 201)
        try await setStatus(client, name, ip: ip, ready: ready)
    }

    func setStatus(_ client: TestClient, _ name: String, ip: Int, ready: Bool) async throws {
        let status = try await client.request(
            .PATCH, pods + "/\(name)/status",
            json: """
                {"status": {"phase": "Running", "podIP": "10.244.0.\(ip)",
                 "podIPs": [{"ip": "10.244.0.\(ip)"}, {"ip": "fd00:10:244::\(ip)"}],
                 "conditions": [{"type": "Ready", "status": "\(ready ? "True" : "False")"}]}}
                """, contentType: "application/merge-patch+json")
        #expect(status.status == 200)
    }

    @Test func slicesFollowPodsAndService() async throws {
        try await withServer { _, client in
            let service = try await client.request(
                .POST, services,
                json: """
                    {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ipFamilyPolicy": "PreferDualStack",
                     "ports": [{"name": "http", "port": 80, "targetPort": "web"}, {"name": "dns", "port": 53,
                     "targetPort": 5353, "protocol": "UDP"}]}}
                    """)
            #expect(service.status == 201)
            let uid = try #require(service.json.string("metadata.uid"))
            // No pods yet: one empty slice per family.
            let empty = try await waitForSlices(client, "web", "empty slices") { $0.count == 2 }
            #expect(empty.map { $0.string("addressType") } == ["IPv4", "IPv6"])
            #expect(empty.allSatisfy { $0["endpoints"] == .array([]) })
            let first = empty[0]
            #expect(first.string("metadata.name")?.hasPrefix("web-") == true)
            #expect(
                first.at("metadata.labels")?["endpointslice.kubernetes.io/managed-by"]
                    == .string("endpointslice-controller.weft"))
            #expect(first.string("metadata.ownerReferences.0.kind") == "Service")
            #expect(first.string("metadata.ownerReferences.0.uid") == uid)

            try await createPod(client, "a", labels: ["app": "web"], ip: 1, ready: true)
            try await createPod(client, "b", labels: ["app": "web"], ip: 2, ready: false)
            try await createPod(client, "other", labels: ["app": "db"], ip: 3, ready: true)
            // Named target ports resolve per pod (a: 8001, b: 8002), so each pod has its own slice per family.
            let both = try await waitForSlices(client, "web", "a and b listed") { slices in
                slices.count == 4 && Set(slices.flatMap { conditions($0).keys }) == ["a", "b"]
            }
            let v4a = try #require(
                both.first { $0.string("addressType") == "IPv4" && conditions($0)["a"] != nil })
            #expect(v4a.at("endpoints.0.addresses") == .array([.string("10.244.0.1")]))
            #expect(v4a.string("endpoints.0.nodeName") == "node-a")
            #expect(v4a.string("endpoints.0.targetRef.kind") == "Pod")
            #expect(conditions(v4a)["a"] == [true, true, false])
            let ports = Set(
                (v4a["ports"]?.arrayValue ?? []).map { "\($0.string("name") ?? ""):\($0.number("port") ?? 0)" })
            #expect(ports == ["http:8001.0", "dns:5353.0"])
            let v6b = try #require(both.first { $0.string("addressType") == "IPv6" && conditions($0)["b"] != nil })
            #expect(v6b.at("endpoints.0.addresses") == .array([.string("fd00:10:244::2")]))
            #expect(conditions(v6b)["b"] == [false, false, false])

            // Readiness changes.
            try await setStatus(client, "b", ip: 2, ready: true)
            try await waitForSlices(client, "web", "b ready") { slices in
                slices.contains { conditions($0)["b"] == [true, true, false] }
            }
            // Label change takes a pod out.
            let relabeled = try await client.request(
                .PATCH, pods + "/a", json: #"{"metadata": {"labels": {"app": "other"}}}"#,
                contentType: "application/merge-patch+json")
            #expect(relabeled.status == 200)
            try await waitForSlices(client, "web", "a gone") { slices in
                slices.count == 2 && Set(slices.flatMap { conditions($0).keys }) == ["b"]
            }
            // Pod deletion takes it out.
            #expect(try await client.request(.DELETE, pods + "/b").status == 200)
            try await waitForSlices(client, "web", "b gone") { slices in
                slices.count == 2 && slices.allSatisfy { $0["endpoints"] == .array([]) }
            }
            // Service deletion deletes the slices.
            #expect(try await client.request(.DELETE, services + "/web").status == 200)
            try await waitForSlices(client, "web", "slices deleted") { $0.isEmpty }
        }
    }

    @Test func terminatingHostnamesAndPublishNotReady() async throws {
        try await withServer { _, client in
            _ = try await client.request(
                .POST, services,
                json: """
                    {"metadata": {"name": "db"}, "spec": {"selector": {"app": "db"}, "clusterIP": "None",
                     "ports": [{"name": "pg", "port": 5432}]}}
                    """)
            try await createPod(
                client, "db-0", labels: ["app": "db"], ip: 10, ready: true,
                extraSpec: #", "hostname": "db-0", "subdomain": "db""#, finalizer: true)
            try await createPod(
                client, "db-1", labels: ["app": "db"], ip: 11, ready: true,
                extraSpec: #", "hostname": "db-1", "subdomain": "elsewhere""#)
            let listed = try await waitForSlices(client, "db", "both listed") { slices in
                slices.count == 1 && conditions(slices[0]).count == 2
            }
            let slice = listed[0]
            #expect(slice.at("metadata.labels")?["service.kubernetes.io/headless"] == .string(""))
            let endpoints = slice["endpoints"]?.arrayValue ?? []
            #expect(endpoints.first { $0.string("targetRef.name") == "db-0" }?.string("hostname") == "db-0")
            #expect(endpoints.first { $0.string("targetRef.name") == "db-1" }?.at("hostname") == nil)
            #expect(slice.number("ports.0.port") == 5432)

            // A pod being deleted (held by its finalizer) is terminating: serving but not ready.
            #expect(try await client.request(.DELETE, pods + "/db-0").status == 200)
            try await waitForSlices(client, "db", "db-0 terminating") { slices in
                slices.first.map { conditions($0)["db-0"] == [false, true, true] } ?? false
            }
            // Unchanged inputs write nothing: the slice keeps its resourceVersion.
            let before = try await slicesOf(client, "db")
            _ = try await client.request(
                .PATCH, services + "/db", json: #"{"metadata": {"annotations": {"note": "x"}}}"#,
                contentType: "application/merge-patch+json")
            try await Task.sleep(for: .milliseconds(300))
            let after = try await slicesOf(client, "db")
            #expect(
                before.map { $0.string("metadata.resourceVersion") }
                    == after.map { $0.string("metadata.resourceVersion") })

            // publishNotReadyAddresses: not-ready and terminating pods are ready.
            try await setStatus(client, "db-1", ip: 11, ready: false)
            try await waitForSlices(client, "db", "db-1 not ready") { slices in
                slices.first.map { conditions($0)["db-1"] == [false, false, false] } ?? false
            }
            _ = try await client.request(
                .PATCH, services + "/db", json: #"{"spec": {"publishNotReadyAddresses": true}}"#,
                contentType: "application/merge-patch+json")
            try await waitForSlices(client, "db", "all published") { slices in
                slices.first.map {
                    conditions($0)["db-1"] == [true, true, false] && conditions($0)["db-0"] == [true, true, true]
                } ?? false
            }
            // The finalizer goes: the pod is gone and so is its endpoint.
            _ = try await client.request(
                .PATCH, pods + "/db-0", json: #"{"metadata": {"finalizers": null}}"#,
                contentType: "application/merge-patch+json")
            try await waitForSlices(client, "db", "db-0 gone") { slices in
                slices.first.map { Set(conditions($0).keys) == ["db-1"] } ?? false
            }
            // A slice deleted by hand comes back.
            let name = try #require(after.first?.string("metadata.name"))
            #expect(try await client.request(.DELETE, slices + "/\(name)").status == 200)
            try await waitForSlices(client, "db", "slice restored") { slices in
                slices.count == 1 && Set(conditions(slices[0]).keys) == ["db-1"]
            }
        }
    }
}
