import Foundation
import KubeClient
import KubeModel
import Testing
import WeftNet

/// Starts a fake server and a client for it; shuts both down afterwards.
func withFakeServer<R: Sendable>(
    requiredToken: String? = "test-token", credentials: ClientConfiguration.Credentials = .token("test-token"),
    timeout: Duration = .seconds(10), _ body: (FakeAPIServer, KubeClient) async throws -> R
) async throws -> R {
    let server = try await FakeAPIServer()
    server.requireToken(requiredToken)
    do {
        let config = ClientConfiguration(server: server.url, credentials: credentials, requestTimeout: timeout)
        let result = try await KubeClient.withClient(config) { try await body(server, $0) }
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}

@Suite("REST calls")
struct ClientTests {
    @Test func typedRoundTrip() async throws {
        try await withFakeServer { server, client in
            let created = try await client.create(TestConfigMap("a", data: ["k": "v"]))
            #expect(created.metadata.uid == "uid-1")
            #expect(created.metadata.resourceVersion == "101")
            #expect(created.metadata.namespace == "default")

            var fetched = try await client.get(TestConfigMap.self, name: "a")
            #expect(fetched == created)

            fetched.data = ["k": "w"]
            let updated = try await client.update(fetched)
            #expect(updated.data == ["k": "w"])
            #expect(updated.metadata.resourceVersion == "102")

            let patched = try await client.patch(
                TestConfigMap.self, name: "a", type: .merge, body: .object(["data": .object(["n": .string("1")])]))
            #expect(patched.data == ["k": "w", "n": "1"])

            _ = try await client.create(TestConfigMap("b", namespace: "other"))
            let all = try await client.list(TestConfigMap.self)
            #expect(all.items.map(\.name) == ["a", "b"])
            #expect(all.metadata.resourceVersion == "104")
            let other = try await client.list(TestConfigMap.self, namespace: "other")
            #expect(other.items.map(\.name) == ["b"])

            let deleted = try await client.delete(TestConfigMap.self, name: "a")
            #expect(deleted?.name == "a")
            #expect(try await client.list(TestConfigMap.self, namespace: "default").items.isEmpty)

            let request = try #require(server.requests.first)
            #expect(request.headers.first(name: "User-Agent") == "weft/0.1")
            #expect(request.headers.first(name: "Authorization") == "Bearer test-token")
            #expect(request.headers.first(name: "Accept") == "application/json")
            #expect(request.path == "/api/v1/namespaces/default/configmaps")
        }
    }

    @Test func serverErrorsCarryStatusAndCode() async throws {
        try await withFakeServer { server, client in
            let missing = await #expect(throws: KubeAPIError.self) {
                try await client.get(TestConfigMap.self, name: "nope")
            }
            #expect(missing?.httpStatus == 404)
            #expect(missing?.status.reason == "NotFound")
            #expect(missing?.status.message == "configmaps \"nope\" not found")
            #expect(missing?.path == "/api/v1/namespaces/default/configmaps/nope")

            let first = try await client.create(TestConfigMap("a"))
            let exists = await #expect(throws: KubeAPIError.self) { try await client.create(TestConfigMap("a")) }
            #expect(exists?.httpStatus == 409)
            #expect(exists?.reason == "AlreadyExists")

            var stale = first
            stale.data = ["x": "y"]
            _ = try await client.update(stale)
            let conflict = await #expect(throws: KubeAPIError.self) { try await client.update(stale) }
            #expect(conflict?.isConflict == true)
            #expect(conflict?.reason == "Conflict")

            let unsupported = await #expect(throws: KubeAPIError.self) {
                try await client.patch(
                    TestConfigMap.self, name: "a", type: .json,
                    body: .array([.object(["op": .string("remove"), "path": .string("/data")])]))
            }
            #expect(unsupported?.httpStatus == 415)
            #expect(server.requests.last?.headers.first(name: "Content-Type") == "application/json-patch+json")
            _ = try? await client.patch(TestConfigMap.self, name: "a", type: .strategic, body: .object([:]))
            #expect(
                server.requests.last?.headers.first(name: "Content-Type") == "application/strategic-merge-patch+json")
        }
    }

    @Test func unauthenticatedRequestsGet401() async throws {
        try await withFakeServer(requiredToken: "right", credentials: .token("wrong")) { _, client in
            let error = await #expect(throws: KubeAPIError.self) { try await client.list(TestConfigMap.self) }
            #expect(error?.httpStatus == 401)
            #expect(error?.reason == "Unauthorized")
        }
    }

    @Test func selectorsAreEncodedInTheQuery() async throws {
        try await withFakeServer { server, client in
            var labelled = TestConfigMap("l")
            labelled.metadata.labels = ["app": "web", "tier": "front"]
            _ = try await client.create(labelled)
            _ = try await client.create(TestConfigMap("u"))
            let list = try await client.list(
                TestConfigMap.self, namespace: "default", labelSelector: "app=web,tier=front",
                fieldSelector: "metadata.name=l")
            #expect(list.items.map(\.name) == ["l"])
            let request = try #require(server.requests.last)
            #expect(request.query["labelSelector"] == "app=web,tier=front")
            #expect(request.query["fieldSelector"] == "metadata.name=l")
        }
    }

    @Test func untypedCalls() async throws {
        try await withFakeServer { server, client in
            let manifest: JSONValue = .object([
                "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
                "metadata": .object(["name": .string("raw"), "namespace": .string("ns1")]),
                "data": .object(["a": .string("b")]),
            ])
            let created = try await client.create(Resources.configMap, manifest)
            #expect(created["metadata"]?["resourceVersion"]?.stringValue == "101")
            #expect(server.requests.last?.path == "/api/v1/namespaces/ns1/configmaps")
            var got = try await client.get(Resources.configMap, name: "raw", namespace: "ns1")
            #expect(got["data"]?["a"]?.stringValue == "b")
            got["data"] = .object(["a": .string("c")])
            let updated = try await client.update(Resources.configMap, got)
            #expect(updated["data"]?["a"]?.stringValue == "c")
            let patched = try await client.patch(
                Resources.configMap, name: "raw", namespace: "ns1", type: .merge,
                body: .object(["data": .object(["a": .null])]))
            #expect(patched["data"]?["a"] == nil)
            let list = try await client.list(Resources.configMap)
            #expect(list["items"]?.arrayValue?.count == 1)
            try await client.delete(Resources.configMap, name: "raw", namespace: "ns1")
            await #expect(throws: KubeAPIError.self) {
                try await client.get(Resources.configMap, name: "raw", namespace: "ns1")
            }
        }
    }

    @Test func requestsTimeOut() async throws {
        try await withFakeServer(timeout: .milliseconds(300)) { server, client in
            server.stallRequests(true)
            let start = ContinuousClock.now
            let error = await #expect(throws: KubeClientError.self) { try await client.list(TestConfigMap.self) }
            guard case .timeout(let method, let path, _) = error else {
                Issue.record("expected a timeout, got \(String(describing: error))")
                return
            }
            #expect(method == "GET")
            #expect(path == "/api/v1/configmaps")
            // A 300 ms timeout, not a hang: the bound is loose because the whole suite shares two cores.
            #expect(ContinuousClock.now - start < .seconds(15))
        }
    }

    @Test func tokenFileIsRead() async throws {
        try await withTempDirectory { dir in
            let tokenPath = try dir.write("token", "from-file\n")
            try await withFakeServer(requiredToken: "from-file", credentials: .tokenFile(tokenPath)) { _, client in
                let list = try await client.list(TestConfigMap.self)
                #expect(list.items.isEmpty)
            }
        }
    }
}
