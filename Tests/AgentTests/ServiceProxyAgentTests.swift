import Agent
import Foundation
import KubeClient
import KubeModel
import Logging
import ServiceProxy
import Testing

/// The ServiceProxyAgent driven by a real `APIServer` through its informers, on a recording nftables backend:
/// metrics, `/healthz` and the healthCheckNodePort servers over real HTTP on loopback.
@Suite struct ServiceProxyAgentTests {
    static let loadBalancer = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec:
          type: LoadBalancer
          externalTrafficPolicy: Local
          ports: [{name: http, port: 80, targetPort: 8080}]
        """

    static func webSlice(_ endpoints: [(address: String, node: String)]) throws -> EndpointSlice {
        let listed = endpoints.map { "{addresses: [\($0.address)], nodeName: \($0.node)}" }
        let time = Date(timeIntervalSinceNow: -1).formatted(.iso8601)
        return try object(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-1
              namespace: default
              labels: {kubernetes.io/service-name: web}
              annotations: {endpoints.kubernetes.io/last-change-trigger-time: "\(time)"}
            addressType: IPv4
            ports: [{name: http, port: 8080}]
            endpoints: [\(listed.joined(separator: ", "))]
            """)
    }

    @Test func syncsServesHealthChecksAndReportsMetrics() async throws {
        try await withAPIServer { client in
            let web = try await client.create(try object(Self.loadBalancer) as KubeModel.Service)
            let healthPort = try #require(web.spec?.healthCheckNodePort)
            var slice = try await client.create(
                try Self.webSlice([("10.244.0.5", "node-a"), ("10.244.1.5", "node-b")]))
            _ = try await client.create(
                try object(
                    """
                    apiVersion: v1
                    kind: Service
                    metadata: {name: headless, namespace: default}
                    spec: {clusterIP: None, ports: [{port: 80}]}
                    """) as KubeModel.Service)

            let backend = RecordingBackend()
            let syncer = ProxySyncer(
                node: ProxyNode(name: "node-a"), clusterCIDRs: [], backend: backend, conntrack: CountingConntrack())
            let proxyMetrics = ProxyMetrics()
            let metrics = AgentMetrics(proxy: proxyMetrics)
            metrics.recordSynced()
            let healthServer = ServiceHealthServer(proxyHealthy: { proxyMetrics.isHealthy })
            let agent = ServiceProxyAgent(
                client: client, syncer: syncer, metrics: proxyMetrics, healthServer: healthServer,
                minimumInterval: .milliseconds(10), retryInterval: .milliseconds(50))
            let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
            let http = AgentHTTPServer(
                host: "127.0.0.1", port: 0, metrics: metrics, logger: Logger(label: "test"),
                onListening: { portContinuation.yield($0) })
            var iterator = ports.makeAsyncIterator()

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try? await http.run() }
                let base = "http://127.0.0.1:\(try #require(await iterator.next()))"
                let waiting = try await fetch(base + "/healthz")
                #expect(waiting.status == 503 && waiting.body.contains("first successful sync"))

                group.addTask { try await agent.run() }
                defer { group.cancelAll() }
                try await eventually("the first sync") { proxyMetrics.isHealthy }
                #expect(try await fetch(base + "/healthz") == (200, "text/plain; charset=utf-8", "ok\n"))
                try await eventuallyAsync("the health check opened") {
                    await healthServer.openPorts == ["default/web": healthPort]
                }
                let answer = try await fetch("http://127.0.0.1:\(healthPort)/")
                #expect(answer.status == 200)
                #expect(
                    answer.body
                        == #"{"service":{"namespace":"default","name":"web"},"localEndpoints":1,"serviceProxyHealthy":true}"#
                        + "\n")

                let text = try await fetch(base + "/metrics").body
                #expect(metricValue(text, "weft_proxy_sync_duration_seconds_count{kind=\"full\"}") == 1)
                #expect(metricValue(text, "weft_proxy_sync_failures_total") == 0)
                #expect(
                    metricValue(text, "weft_proxy_services") == 2,
                    "web and kubernetes; the headless service is not proxied")
                #expect(try #require(metricValue(text, "weft_proxy_elements")) > 0)
                #expect(try #require(metricValue(text, "weft_proxy_network_programming_duration_seconds_count")) >= 1)
                #expect(try #require(metricValue(text, "weft_proxy_last_sync_timestamp_seconds")) > 1e9)
                #expect(text.contains("weft_agent_informer_synced 1\n"), "the overlay's metrics are still there")

                // The local endpoint goes: the same port now answers 503.
                slice = try await client.get(EndpointSlice.self, name: "web-1", namespace: "default")
                slice.endpoints = try Self.webSlice([("10.244.1.5", "node-b")]).endpoints
                slice = try await client.update(slice)
                try await eventuallyAsync("no local endpoint") {
                    (try? await fetch("http://127.0.0.1:\(healthPort)/").status) == 503
                }

                // A failing sync: /healthz and the health check say so; the retry after recovery is a full sync.
                backend.setFailing(true)
                slice.endpoints = try Self.webSlice([("10.244.0.7", "node-a")]).endpoints
                slice = try await client.update(slice)
                try await eventually("a failed sync") { !proxyMetrics.isHealthy }
                let failing = try await fetch(base + "/healthz")
                #expect(failing.status == 503 && failing.body.contains("last sync failed: refused by the test"))
                let sick = try await fetch("http://127.0.0.1:\(healthPort)/")
                #expect(sick.status == 503 && sick.body.contains(#""serviceProxyHealthy":false"#))
                backend.setFailing(false)
                try await eventually("recovered") { proxyMetrics.isHealthy }
                let after = try await fetch(base + "/metrics").body
                #expect(try #require(metricValue(after, "weft_proxy_sync_failures_total")) >= 1)
                #expect(metricValue(after, "weft_proxy_sync_duration_seconds_count{kind=\"full\"}") == 2)
                let recovered = try await fetch("http://127.0.0.1:\(healthPort)/")
                #expect(recovered.status == 200 && recovered.body.contains(#""localEndpoints":1"#))

                // The service goes: so does its listener.
                _ = try await client.delete(KubeModel.Service.self, name: "web", namespace: "default")
                try await eventuallyAsync("the health check closed") { await healthServer.openPorts.isEmpty }
                #expect(!accepts("127.0.0.1", healthPort))
            }
        }
    }
}

/// ``eventually(_:_:)`` for an async condition.
func eventuallyAsync(_ what: String, _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !(await condition()) {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}
