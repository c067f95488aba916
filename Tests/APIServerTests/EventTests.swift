import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

/// core/v1 Events: stored like any kind, selectable by the fields `kubectl describe` asks for, printed as
/// `kubectl get events` prints them, and deleted once their TTL has passed.
@Suite struct EventTests {
    static let events = "/api/v1/namespaces/default/events"

    static func eventJSON(_ name: String, pod: String, reason: String, last: String, type: String = "Normal") -> String
    {
        """
        {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "\(name)"},
         "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "default", "name": "\(pod)",
                            "uid": "uid-\(pod)"},
         "reason": "\(reason)", "message": "\(reason) happened", "type": "\(type)",
         "source": {"component": "weft-agent", "host": "node-1"},
         "firstTimestamp": "\(last)", "lastTimestamp": "\(last)", "count": 1}
        """
    }

    @Test func storedSelectedAndPrinted() async throws {
        try await withServer { _, client in
            let now = Date().formatted(Date.ISO8601FormatStyle())
            for (name, pod, reason) in [
                ("a.1", "web", "Scheduled"), ("b.1", "db", "Pulled"), ("a.2", "web", "Started"),
            ] {
                let created = try await client.request(
                    .POST, Self.events, json: Self.eventJSON(name, pod: pod, reason: reason, last: now))
                #expect(created.status == 201)
            }
            // What `kubectl describe pod web` sends.
            let selector = "involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=uid-web"
            let selected = try await client.request(
                .GET,
                Self.events + "?fieldSelector=" + selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            )
            #expect(selected.status == 200)
            #expect(selected.json.itemNames == ["a.1", "a.2"])
            let bySource = try await client.request(.GET, Self.events + "?fieldSelector=source%3Dweft-agent")
            #expect(bySource.json.itemNames.count == 3)
            let byReason = try await client.request(.GET, "/api/v1/events?fieldSelector=reason%3DPulled")
            #expect(byReason.json.itemNames == ["b.1"])
            let unsupported = try await client.request(.GET, Self.events + "?fieldSelector=message%3Dx")
            #expect(unsupported.status == 400)

            let table = try await client.request(
                .GET, Self.events, headers: [("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")])
            let columns = (table.json["columnDefinitions"]?.arrayValue ?? []).filter { $0.number("priority") == 0 }
            #expect(columns.compactMap { $0.string("name") } == ["Last Seen", "Type", "Reason", "Object", "Message"])
            let cells = table.json.at("rows.0.cells")?.arrayValue ?? []
            #expect(cells.count == 10)
            #expect(cells.dropFirst().prefix(3) == [.string("Normal"), .string("Scheduled"), .string("pod/web")])
        }
    }

    /// TTL 30 s: events last seen an hour and 45 s ago go at the next sweep (every 3 s here), a fresh one stays
    /// (the TTL is long enough that a loaded CI machine does not age the fresh one out before the test looks).
    @Test func expiredEventsAreDeleted() async throws {
        try await withServer(configure: { $0.eventTTL = .seconds(30) }) { _, client in
            func ago(_ seconds: Double) -> String {
                Date().addingTimeInterval(-seconds).formatted(Date.ISO8601FormatStyle())
            }
            for (name, last) in [("hour", ago(3600)), ("recent", ago(45)), ("fresh", ago(0))] {
                let created = try await client.request(
                    .POST, Self.events, json: Self.eventJSON(name, pod: "p", reason: "R", last: last))
                #expect(created.status == 201)
            }
            let deadline = ContinuousClock.now + .seconds(15)
            var names = try await client.request(.GET, Self.events).json.itemNames
            while names.count > 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                names = try await client.request(.GET, Self.events).json.itemNames
            }
            #expect(names == ["fresh"])
        }
    }

    /// `kubectl get events` prints the usual columns and `kubectl describe pod` lists the pod's events.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
    func kubectlShowsEvents() async throws {
        try await withServer(tls: true, authentication: true) { server, client in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> KubectlTests.Run {
                try await KubectlTests.run(config, arguments)
            }
            let pod = try await client.request(.POST, "/api/v1/namespaces/default/pods", json: podJSON("web")).json
            let uid = try #require(pod.string("metadata.uid"))
            let now = Date().formatted(Date.ISO8601FormatStyle())
            var event = try JSONValue(
                parsing: Self.eventJSON(
                    "web.1", pod: "web", reason: "FailedCreatePodSandBox", last: now, type: "Warning"))
            event["involvedObject"]?["uid"] = .string(uid)
            event["count"] = .number(2)
            let created = try await client.request(.POST, Self.events, body: Data(event.serialized()))
            #expect(created.status == 201)

            let get = try await kubectl("get", "events")
            #expect(get.status == 0, "\(get.err)")
            let lines = get.out.split(separator: "\n")
            #expect(
                lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                    "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE",
                ])
            #expect(
                lines.dropFirst().first?.contains("Warning   FailedCreatePodSandBox   pod/web") == true, "\(get.out)")

            let describe = try await kubectl("describe", "pod", "web")
            #expect(describe.status == 0, "\(describe.err)")
            #expect(describe.out.contains("FailedCreatePodSandBox"), "\(describe.out)")
            #expect(describe.out.contains("(x2 over"), "\(describe.out)")
        }
    }
}
