import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

@Suite("Server")
struct ServerTests {
    @Test func tlsTokensAndKubeconfig() async throws {
        try await withServer(tls: true, authentication: true) { server, client in
            let credentials = try #require(server.credentials)
            #expect(credentials.adminToken.count == 64)
            #expect(credentials.agentToken.count == 64 && credentials.agentToken != credentials.adminToken)

            let ok = try await client.request(.GET, "/api/v1/namespaces/default")
            #expect(ok.status == 200)
            var agent = client
            agent.token = credentials.agentToken
            #expect(try await agent.request(.GET, "/api/v1/namespaces").status == 200)

            var anonymous = client
            anonymous.token = nil
            let denied = try await anonymous.request(.GET, "/api/v1/namespaces")
            #expect(denied.status == 401)
            #expect(denied.json.string("reason") == "Unauthorized")
            #expect(denied.json.string("message") == "Unauthorized")
            anonymous.token = "wrong"
            #expect(try await anonymous.request(.GET, "/api").status == 401)
            anonymous.token = nil
            #expect(try await anonymous.request(.GET, "/healthz").text == "ok")
            #expect(try await anonymous.request(.GET, "/version").json.string("gitVersion") == "v1.32.0-weft")

            let kubeconfig = try String(contentsOfFile: server.kubeconfigPath, encoding: .utf8)
            #expect(kubeconfig.contains("server: https://127.0.0.1:\(client.port)"))
            #expect(kubeconfig.contains("token: \(credentials.adminToken)"))
            #expect(kubeconfig.contains("certificate-authority-data: "))
            #expect(kubeconfig.contains("current-context: weft"))
            let tokens = try String(contentsOfFile: server.configuration.dataDir + "/tokens.csv", encoding: .utf8)
            #expect(tokens.contains("\(credentials.adminToken),admin,admin,\"system:masters\""))
        }
    }

    @Test func restartKeepsObjectsPKIAndResourceVersion() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let (rv, ca, token) = try await withServer(tls: true, authentication: true, dataDir: directory) {
            server, client in
            let created = try await client.request(
                .POST, "/api/v1/namespaces/default/configmaps", json: #"{"metadata": {"name": "keep"}}"#)
            #expect(created.status == 201)
            return (
                Int(created.json.string("metadata.resourceVersion") ?? "") ?? 0, server.caCertificatePEM,
                server.credentials?.adminToken
            )
        }
        try await withServer(tls: true, authentication: true, dataDir: directory) { server, client in
            #expect(server.caCertificatePEM == ca)
            #expect(server.credentials?.adminToken == token)
            let kept = try await client.request(.GET, "/api/v1/namespaces/default/configmaps/keep")
            #expect(kept.status == 200)
            #expect(Int(kept.json.string("metadata.resourceVersion") ?? "") == rv)
            let next = try await client.request(
                .POST, "/api/v1/namespaces/default/configmaps", json: #"{"metadata": {"name": "new"}}"#)
            #expect(Int(next.json.string("metadata.resourceVersion") ?? "") ?? 0 > rv)
            // A watch from before the restart is older than the (empty) event history: 410.
            let (_, lines) = try await client.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(rv - 1)"
            ) { $0.count >= 1 }
            #expect(lines.first?.contains("\"code\":410") == true)
        }
    }

    @Test func discovery() async throws {
        try await withServer { _, client in
            let api = try await client.request(.GET, "/api").json
            #expect(api.string("kind") == "APIVersions")
            #expect(api.at("versions") == .array([.string("v1")]))
            let core = try await client.request(.GET, "/api/v1").json
            #expect(core.string("kind") == "APIResourceList")
            #expect(core.string("groupVersion") == "v1")
            let resources = core["resources"]?.arrayValue ?? []
            let pods = try #require(resources.first { $0.string("name") == "pods" })
            #expect(pods.string("kind") == "Pod")
            #expect(pods.string("singularName") == "pod")
            #expect(pods["namespaced"] == .bool(true))
            #expect(pods["shortNames"] == .array([.string("po")]))
            #expect(pods["verbs"]?.arrayValue?.contains(.string("watch")) == true)
            #expect(resources.contains { $0.string("name") == "pods/status" })
            #expect(!resources.contains { $0.string("name") == "configmaps/status" })
            let groups = try await client.request(.GET, "/apis").json
            #expect(groups.string("kind") == "APIGroupList")
            let names = (groups["groups"]?.arrayValue ?? []).compactMap { $0.string("name") }
            #expect(Set(names) == Set(Resources.all.map(\.group).filter { !$0.isEmpty }))
            let apps = try await client.request(.GET, "/apis/apps").json
            #expect(apps.string("kind") == "APIGroup")
            #expect(apps.string("preferredVersion.groupVersion") == "apps/v1")
            let appsV1 = try await client.request(.GET, "/apis/apps/v1").json
            let appsResources = (appsV1["resources"]?.arrayValue ?? []).compactMap { $0.string("name") }
            #expect(appsResources.contains("deployments"))
            // OpenAPI is served (OpenAPITests has the details).
            #expect(try await client.request(.GET, "/openapi/v2").status == 200)
            #expect(try await client.request(.GET, "/openapi/v3").status == 200)
        }
    }

    @Test func tableOutput() async throws {
        try await withServer { _, client in
            _ = try await client.request(.POST, "/api/v1/namespaces/default/pods", json: podJSON("t", node: "n1"))
            let table = try await client.request(
                .GET, "/api/v1/namespaces/default/pods",
                headers: [("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")])
            #expect(table.headers.first(name: "Content-Type")?.contains("as=Table") == true)
            let json = table.json
            #expect(json.string("kind") == "Table")
            let columns = (json["columnDefinitions"]?.arrayValue ?? []).compactMap { $0.string("name") }
            #expect(columns.prefix(5) == ["Name", "Ready", "Status", "Restarts", "Age"])
            #expect(
                json.at("rows.0.cells")?.arrayValue?.prefix(4) == [
                    .string("t"), .string("0/1"), .string("Pending"), .string("0"),
                ])
            #expect(json.string("rows.0.object.kind") == "PartialObjectMetadata")
            #expect(json.string("rows.0.object.metadata.name") == "t")
        }
    }

    /// `kubectl get deploy,ds` columns (READY ready/desired, UP-TO-DATE, AVAILABLE; DESIRED … NODE SELECTOR).
    @Test func workloadTables() async throws {
        try await withServer(configure: { $0.controllers = false }) { _, client in
            let accept = [("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")]
            let template =
                #"{"metadata": {"labels": {"app": "w"}}, "spec": {"nodeSelector": {"role": "edge"},"#
                + #" "containers": [{"name": "c", "image": "nginx"}, {"name": "d", "image": "busybox"}]}}"#
            let deployments = "/apis/apps/v1/namespaces/default/deployments"
            _ = try await client.request(
                .POST, deployments,
                json: #"{"metadata": {"name": "w"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "w"}},"#
                    + #" "template": \#(template)}}"#)
            let status = try await client.request(
                .PATCH, deployments + "/w/status",
                json: #"{"status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 1}}"#,
                contentType: "application/merge-patch+json")
            #expect(status.status == 200)
            let table = try await client.request(.GET, deployments, headers: accept).json
            let columns = (table["columnDefinitions"]?.arrayValue ?? []).compactMap { $0.string("name") }
            #expect(columns == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"])
            let cells = table.at("rows.0.cells")?.arrayValue ?? []
            #expect(cells.prefix(4) == [.string("w"), .string("2/3"), .number(3), .number(1)])
            #expect(cells.suffix(3) == [.string("c,d"), .string("nginx,busybox"), .string("app=w")])

            let daemonSets = "/apis/apps/v1/namespaces/default/daemonsets"
            _ = try await client.request(
                .POST, daemonSets,
                json: #"{"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "w"}},"#
                    + #" "template": \#(template)}}"#)
            let dsTable = try await client.request(.GET, daemonSets, headers: accept).json
            let dsColumns = (dsTable["columnDefinitions"]?.arrayValue ?? []).compactMap { $0.string("name") }
            #expect(
                dsColumns.prefix(8) == [
                    "Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age",
                ])
            let dsCells = dsTable.at("rows.0.cells")?.arrayValue ?? []
            #expect(
                dsCells.prefix(7) == [
                    .string("d"), .number(0), .number(0), .number(0), .number(0), .number(0), .string("role=edge"),
                ])
        }
    }

    /// The `kubernetes` Service (first IP of the service CIDR, 443 → the server's port) and its EndpointSlice
    /// pointing at the advertised address; a restart on another port moves the endpoint, not the Service.
    @Test func kubernetesService() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        var firstPort = 0
        try await withServer(dataDir: directory, configure: { $0.advertiseAddress = "192.0.2.10" }) { server, client in
            firstPort = try #require(server.address?.port)
            let service = try await client.request(.GET, "/api/v1/namespaces/default/services/kubernetes").json
            #expect(service.string("spec.clusterIP") == "10.96.0.1")
            #expect(service.at("spec.ports.0.port") == .number(443))
            #expect(service.at("spec.ports.0.targetPort") == .number(Double(firstPort)))
            #expect(service.at("spec.selector") == nil)
            let slice = try await client.request(
                .GET, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"
            ).json
            #expect(slice["metadata"]?["labels"]?["kubernetes.io/service-name"] == .string("kubernetes"))
            #expect(slice.at("endpoints.0.addresses") == .array([.string("192.0.2.10")]))
            #expect(slice.at("ports.0.port") == .number(Double(firstPort)))
            // A new Service does not get 10.96.0.1.
            let other = try await client.request(
                .POST, "/api/v1/namespaces/default/services",
                json: #"{"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}"#)
            #expect(other.json.string("spec.clusterIP") != "10.96.0.1")
        }
        try await withServer(dataDir: directory, configure: { $0.advertiseAddress = "192.0.2.11" }) { server, client in
            let slice = try await client.request(
                .GET, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"
            ).json
            #expect(slice.at("endpoints.0.addresses") == .array([.string("192.0.2.11")]))
            #expect(slice.at("ports.0.port") == .number(Double(try #require(server.address?.port))))
            let services = try await client.request(.GET, "/api/v1/namespaces/default/services").json
            #expect(services.itemNames == ["kubernetes", "web"])
        }
    }
}
