import APIServer
import Agent
import AsyncHTTPClient
import Foundation
import KubeClient
import KubeModel
import Logging
import NIOCore
import Testing
import WeftNet

/// The NodeAgent driven by a real `APIServer` (in-process, TLS and tokens) through its Node informer, on the fake
/// kernel; and the agent's HTTP endpoint.
@Suite struct NodeAgentTests {
    @Test func followsNodesJoiningChangingAndLeaving() async throws {
        try await withAPIServer { client in
            for node in ["a", "b", "c"].enumerated() {
                let n = node.offset + 1
                _ = try await client.create(
                    kubeNode(
                        node.element, podCIDRs: ["10.244.\(n).0/24", "fd00:10:244:\(n)::/64"],
                        internalIPs: ["192.168.0.\(n)", "fd00:192::\(n)"]))
            }
            let kernel = FakeOverlayKernel(underlayMTU: [ip("192.168.0.1"): 1500, ip("fd00:192::1"): 1500])
            let metrics = AgentMetrics()
            let agent = NodeAgent(
                informer: Informer<Node>(client: client),
                reconciler: OverlayReconciler(
                    nodeName: "a", configuration: OverlayConfiguration(mode: .vxlan), kernel: kernel),
                metrics: metrics, options: NodeAgent.Options(resyncInterval: .seconds(3600)))
            let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
            let server = AgentHTTPServer(
                host: "127.0.0.1", port: 0, metrics: metrics, logger: Logger(label: "test"),
                onListening: { portContinuation.yield($0) })
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await agent.run() }
                group.addTask { try? await server.run() }
                defer { group.cancelAll() }

                try await eventually("peers b and c programmed") { kernel.state.routes.count == 4 }
                #expect(kernel.state.fdb.count == 4 && kernel.state.neighbours.count == 4)

                _ = try await client.create(
                    kubeNode("d", podCIDRs: ["10.244.4.0/24"], internalIPs: ["192.168.0.4"]))
                try await eventually("d joined") { kernel.state.routes[prefix("10.244.4.0/24")] != nil }

                var b = try await client.get(Node.self, name: "b")
                b.status?.addresses = [
                    NodeAddress(type: "InternalIP", address: "192.168.0.22"),
                    NodeAddress(type: "InternalIP", address: "fd00:192::2"),
                ]
                _ = try await client.updateStatus(b)
                let moved = OverlayFDBEntry(
                    device: "weft.vxlan4", mac: .vtep(underlay: ip("192.168.0.22")), destination: ip("192.168.0.22"))
                try await eventually("b's new address") { kernel.state.fdb.contains(moved) }

                _ = try await client.delete(Node.self, name: "c")
                try await eventually("c left") {
                    kernel.state.routes[prefix("10.244.3.0/24")] == nil
                        && kernel.state.routes[prefix("fd00:10:244:3::/64")] == nil
                }
                #expect(!kernel.state.fdb.contains { $0.destination == ip("192.168.0.3") })
                #expect(!kernel.state.neighbours.contains { $0.address == ip("10.244.3.0") })
                #expect(kernel.state.routes.count == 3)

                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                let health = try await get("http://127.0.0.1:\(port)/healthz")
                #expect(health.status == 200 && health.body == "ok\n")
                let text = try await get("http://127.0.0.1:\(port)/metrics").body
                #expect(text.contains("# TYPE weft_agent_reconciles_total counter\n"))
                #expect(text.contains("weft_agent_reconcile_errors_total 0\n"))
                #expect(text.contains("weft_agent_peers 2\n"))
                #expect(text.contains("weft_agent_informer_synced 1\n"))
                #expect(try #require(metricValue(text, "weft_agent_reconciles_total")) >= 4)
                #expect(try #require(metricValue(text, "weft_agent_last_reconcile_duration_seconds")) > 0)
            }
        }
    }

    @Test func retriesAfterAFailureWithoutANewEvent() async throws {
        try await withAPIServer { client in
            for node in dualStackNodes() {
                _ = try await client.create(
                    kubeNode(
                        node.name, podCIDRs: node.podCIDRs.values.map(\.description),
                        internalIPs: node.internalIPs.values.map(\.description)))
            }
            let kernel = FakeOverlayKernel()
            kernel.with { $0.foreignRoutes = [prefix("10.244.2.0/24")] }
            let agent = NodeAgent(
                informer: Informer<Node>(client: client),
                reconciler: OverlayReconciler(
                    nodeName: "a", configuration: OverlayConfiguration(mode: .hostGW), kernel: kernel),
                options: NodeAgent.Options(resyncInterval: .seconds(3600), retryInterval: .milliseconds(50)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await agent.run() }
                defer { group.cancelAll() }
                try await eventually("the first reconcile fails") { agent.metrics.isFailing }
                #expect(kernel.state.routes.count == 3, "the other routes are in")
                #expect(!agent.metrics.health.healthy)
                kernel.with { $0.foreignRoutes = [] }
                try await eventually("a retry succeeds") { !agent.metrics.isFailing }
                #expect(kernel.state.routes.count == 4)
                #expect(agent.metrics.health.healthy)
                #expect(metricValue(agent.metrics.prometheusText(), "weft_agent_reconcile_errors_total")! >= 1)
            }
        }
    }

    @Test func healthReportsSyncAndTheLastReconcile() async throws {
        let metrics = AgentMetrics()
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = AgentHTTPServer(
            host: "127.0.0.1", port: 0, metrics: metrics, logger: Logger(label: "test"),
            onListening: { portContinuation.yield($0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try? await server.run() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            let base = "http://127.0.0.1:\(try #require(await iterator.next()))"

            let waiting = try await get(base + "/healthz")
            #expect(waiting.status == 503 && waiting.body.contains("waiting"))
            metrics.recordSynced()
            let report = ReconcileReport(
                plan: OverlayPlan(nodeName: "a", configuration: .init(mode: .hostGW), nodes: dualStackNodes()),
                changes: [], failures: 0)
            metrics.recordFailure(FakeOverlayKernel.Refused(description: "boom"), report: report, duration: .zero)
            let failing = try await get(base + "/healthz")
            #expect(failing.status == 503 && failing.body.contains("boom"))
            metrics.recordSuccess(report, duration: .milliseconds(250))
            #expect(try await get(base + "/healthz").status == 200)
            let text = try await get(base + "/metrics").body
            #expect(metricValue(text, "weft_agent_reconciles_total") == 2)
            #expect(metricValue(text, "weft_agent_reconcile_errors_total") == 1)
            #expect(metricValue(text, "weft_agent_peers") == 2)
            #expect(metricValue(text, "weft_agent_last_reconcile_duration_seconds") == 0.25)
            #expect(try await get(base + "/nothing").status == 404)
        }
    }
}

/// Runs `body` with a client of a fresh in-process API server; stops both and removes the data directory.
func withAPIServer(_ body: (KubeClient) async throws -> Void) async throws {
    let directory = NSTemporaryDirectory() + "wfag-apiserver-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let server = try APIServer(configuration: APIServerConfiguration(dataDir: directory, port: 0))
    try await server.start()
    let client = try KubeClient(
        configuration: try KubeConfig.load(path: server.kubeconfigPath).clientConfiguration())
    do {
        try await body(client)
    } catch {
        try? await client.shutdown()
        await server.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    try await client.shutdown()
    await server.shutdown(gracePeriod: .seconds(1))
}

/// Waits until `condition` holds, checking every 20 ms; fails after 10 s.
func eventually(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            throw TimedOut(what: what)
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// ``eventually(_:_:)`` gave up.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for: \(what)" }
}

/// GETs `url` and returns the status code and the body.
func get(_ url: String) async throws -> (status: Int, body: String) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
    let body = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), String(buffer: body))
}

/// The value of an unlabelled metric in Prometheus text.
func metricValue(_ text: String, _ name: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
}
