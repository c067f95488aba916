import APIServer
import Foundation
import KubeModel
import Testing
import WeftNet

@Suite("Watch")
struct WatchTests {
    let cms = "/api/v1/namespaces/default/configmaps"

    func events(_ lines: [String]) -> [(type: String, name: String, rv: Int)] {
        lines.map { line in
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))) ?? .null
            return (
                json.string("type") ?? "", json.string("object.metadata.name") ?? "",
                Int(json.string("object.metadata.resourceVersion") ?? "") ?? 0
            )
        }
    }

    @Test func initialStateThenLiveEventsInOrder() async throws {
        try await withServer { _, client in
            _ = try await client.request(.POST, cms, json: #"{"metadata": {"name": "one"}}"#)
            let watch = Task {
                try await client.watch(cms + "?watch=1") { $0.count >= 4 }
            }
            // Give the watch time to start; events before it starts arrive as the initial ADDED anyway.
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.request(.POST, cms, json: #"{"metadata": {"name": "two"}}"#)
            _ = try await client.request(
                .PATCH, cms + "/one", json: #"{"data": {"k": "v"}}"#, contentType: "application/merge-patch+json")
            _ = try await client.request(.DELETE, cms + "/two")
            let (status, lines) = try await watch.value
            #expect(status == 200)
            let seen = events(lines)
            #expect(seen.map(\.type) == ["ADDED", "ADDED", "MODIFIED", "DELETED"])
            #expect(seen.map(\.name) == ["one", "two", "one", "two"])
            #expect(seen.dropFirst().map(\.rv) == seen.dropFirst().map(\.rv).sorted())
        }
    }

    @Test func resumeFromResourceVersion() async throws {
        try await withServer { _, client in
            let first = try await client.request(.POST, cms, json: #"{"metadata": {"name": "a"}}"#).json
            let rv = try #require(first.string("metadata.resourceVersion"))
            _ = try await client.request(.POST, cms, json: #"{"metadata": {"name": "b"}}"#)
            _ = try await client.request(.DELETE, cms + "/a")
            let (_, lines) = try await client.watch(cms + "?watch=true&resourceVersion=\(rv)") { $0.count >= 2 }
            let seen = events(lines)
            #expect(seen.map(\.type) == ["ADDED", "DELETED"])
            #expect(seen.map(\.name) == ["b", "a"])
            #expect(seen.allSatisfy { $0.rv > Int(rv)! })
        }
    }

    @Test func expiredResourceVersionAnswers410() async throws {
        try await withServer(configure: { $0.watchHistory = 3 }) { _, client in
            let first = try await client.request(.POST, cms, json: #"{"metadata": {"name": "a"}}"#).json
            let rv = try #require(first.string("metadata.resourceVersion"))
            for index in 0..<5 {
                _ = try await client.request(.POST, cms, json: #"{"metadata": {"name": "x\#(index)"}}"#)
            }
            let (status, lines) = try await client.watch(cms + "?watch=1&resourceVersion=\(rv)") { $0.count >= 1 }
            #expect(status == 200)
            let event = try JSONDecoder().decode(JSONValue.self, from: Data(try #require(lines.first).utf8))
            #expect(event.string("type") == "ERROR")
            #expect(event.number("object.code") == 410)
            #expect(event.string("object.reason") == "Expired")
            #expect(event.string("object.kind") == "Status")

            let future = try await client.request(.GET, cms + "?watch=1&resourceVersion=99999")
            #expect(future.status == 504)
            #expect(future.json.string("reason") == "Timeout")
            #expect(future.json.string("details.causes.0.reason") == "ResourceVersionTooLarge")
            #expect(try await client.request(.GET, cms + "?watch=1&resourceVersion=abc").status == 400)
        }
    }

    @Test func selectorsTurnModificationsIntoAddAndDelete() async throws {
        try await withServer { _, client in
            let start = try await client.request(.GET, cms).json.string("metadata.resourceVersion") ?? "0"
            _ = try await client.request(.POST, cms, json: #"{"metadata": {"name": "m", "labels": {"app": "no"}}}"#)
            _ = try await client.request(
                .PATCH, cms + "/m", json: #"{"metadata": {"labels": {"app": "yes"}}}"#,
                contentType: "application/merge-patch+json")
            _ = try await client.request(
                .PATCH, cms + "/m", json: #"{"data": {"a": "b"}}"#, contentType: "application/merge-patch+json")
            _ = try await client.request(
                .PATCH, cms + "/m", json: #"{"metadata": {"labels": {"app": "no"}}}"#,
                contentType: "application/merge-patch+json")
            let (_, lines) = try await client.watch(
                cms + "?watch=1&labelSelector=app%3Dyes&resourceVersion=\(start)"
            ) { $0.count >= 3 }
            #expect(events(lines).map(\.type) == ["ADDED", "MODIFIED", "DELETED"])
        }
    }

    /// Margins wide enough for a loaded 2-core machine: ~20 bookmark periods within the timeout, of which two must
    /// arrive; the server may end the stream late, never early.
    @Test func bookmarksAndTimeout() async throws {
        try await withServer(configure: { $0.bookmarkInterval = .milliseconds(100) }) { _, client in
            let created = try await client.request(.POST, cms, json: #"{"metadata": {"name": "a"}}"#).json
            let rv = try #require(created.string("metadata.resourceVersion"))
            let clock = ContinuousClock()
            let start = clock.now
            // With timeoutSeconds the server ends the stream by itself.
            let (status, lines) = try await client.watch(
                cms + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=\(rv)",
                timeout: .seconds(20)
            ) { _ in false }
            let elapsed = clock.now - start
            #expect(status == 200)
            #expect(elapsed >= .seconds(2) && elapsed < .seconds(15))
            let parsed = lines.map { (try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8))) ?? .null }
            #expect(parsed.count >= 2)
            #expect(parsed.allSatisfy { $0.string("type") == "BOOKMARK" })
            #expect(parsed.first?.string("object.metadata.resourceVersion") == rv)
            #expect(parsed.first?.string("object.kind") == "ConfigMap")
        }
    }

    @Test func watchEndsOnShutdownAndSlowWatchersAreDropped() async throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        var configuration = APIServerConfiguration(dataDir: directory, port: 0, tls: false, authentication: false)
        configuration.controllers = false  // only the client's watch is open
        let server = try APIServer(configuration: configuration)
        let address = try await server.start()
        let client = TestClient(port: address.port)
        let watch = Task { try await client.watch(cms + "?watch=1", timeout: .seconds(20)) { _ in false } }
        let deadline = ContinuousClock.now + .seconds(5)  // a bounded wait: the test runs in parallel with others
        while await server.store.subscriberCount == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await server.store.subscriberCount == 1)
        await server.shutdown()
        let (status, _) = try await watch.value
        #expect(status == 200)
    }
}
