import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

@Suite("Scheduler")
struct ControllerSchedulerTests {
    let pods = "/api/v1/namespaces/default/pods"

    func nodeJSON(_ name: String, ready: Bool, unschedulable: Bool = false, labels: String = "{}") -> String {
        """
        {"metadata": {"name": "\(name)", "labels": \(labels)}, "spec": {"unschedulable": \(unschedulable)},
         "status": {"conditions": [{"type": "Ready", "status": "\(ready ? "True" : "False")"}]}}
        """
    }

    /// Polls (for at most 10 s) until every named pod has a node; returns pod name → node name.
    func waitForPlacement(_ client: TestClient, _ names: [String]) async throws -> [String: String] {
        let deadline = ContinuousClock.now + .seconds(10)
        var placed: [String: String] = [:]
        while ContinuousClock.now < deadline {
            let list = try await client.request(.GET, pods).json
            placed = [:]
            for pod in list["items"]?.arrayValue ?? [] {
                if let name = pod.string("metadata.name"), let node = pod.string("spec.nodeName") {
                    placed[name] = node
                }
            }
            if names.allSatisfy({ placed[$0] != nil }) { return placed }
            try await Task.sleep(for: .milliseconds(50))
        }
        return placed
    }

    @Test func spreadsPodsOverReadySchedulableNodes() async throws {
        try await withServer { _, client in
            // Without a ready node nothing is placed.
            #expect(try await client.request(.POST, pods, json: podJSON("early")).status == 201)
            _ = try await client.request(.POST, "/api/v1/nodes", json: nodeJSON("down", ready: false))
            _ = try await client.request(
                .POST, "/api/v1/nodes", json: nodeJSON("cordoned", ready: true, unschedulable: true))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await client.request(.GET, pods + "/early").json.at("spec.nodeName") == nil)

            _ = try await client.request(.POST, "/api/v1/nodes", json: nodeJSON("a", ready: true))
            _ = try await client.request(
                .POST, "/api/v1/nodes", json: nodeJSON("b", ready: true, labels: #"{"disk": "ssd"}"#))
            #expect(try await client.request(.POST, pods, json: podJSON("fixed", node: "a")).status == 201)
            for index in 0..<5 {
                #expect(try await client.request(.POST, pods, json: podJSON("p\(index)")).status == 201)
            }
            let names = ["early", "fixed"] + (0..<5).map { "p\($0)" }
            let placed = try await waitForPlacement(client, names)
            #expect(placed.count == 7)
            #expect(Set(placed.values) == ["a", "b"], "never the down or cordoned node")
            let onA = placed.values.filter { $0 == "a" }.count
            #expect(onA == 4 || onA == 3, "spread: \(placed)")
            let early = try await client.request(.GET, pods + "/early").json
            #expect(
                early.at("status.conditions")?.arrayValue?.contains {
                    $0.string("type") == "PodScheduled" && $0.string("status") == "True"
                } == true)

            // nodeSelector.
            let selected = try await client.request(
                .POST, pods,
                json: """
                    {"metadata": {"name": "ssd"}, "spec": {"nodeSelector": {"disk": "ssd"},
                     "containers": [{"name": "c", "image": "busybox"}]}}
                    """)
            #expect(selected.status == 201)
            #expect(try await waitForPlacement(client, ["ssd"])["ssd"] == "b")
        }
    }
}
