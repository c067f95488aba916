import KubeClient
import KubeModel
import Testing

extension FakeAPIServer.Chunking: CustomTestStringConvertible {
    var testDescription: String {
        switch self {
        case .whole: "one chunk per event"
        case .pieces(let n): "\(n)-byte chunks"
        case .coalesced: "all events in one chunk"
        }
    }
}

@Suite("watch")
struct WatchTests {
    /// Replay of history and live events arrive whole and in order however the server cuts the stream.
    @Test(arguments: [FakeAPIServer.Chunking.whole, .pieces(1), .pieces(7), .pieces(100), .coalesced])
    func eventsSurviveAnyChunking(chunking: FakeAPIServer.Chunking) async throws {
        try await withFakeServer { server, client in
            server.setChunking(chunking)
            let start = String(server.currentResourceVersion)
            var a = try await client.create(TestConfigMap("a", data: ["text": "{\"nested\": [\"}\"]}"]))
            _ = try await client.create(TestConfigMap("b"))
            a.data = ["k": "ünïcødé"]
            _ = try await client.update(a)
            try await client.delete(TestConfigMap.self, name: "b")

            var seen: [String] = []
            for try await event in try await client.watch(TestConfigMap.self, resourceVersion: start) {
                seen.append(
                    "\(event.type.rawValue) \(event.object.name) \(event.object.metadata.resourceVersion ?? "")")
                if seen.count == 4 {
                    _ = try await client.create(TestConfigMap("live"))
                }
                if seen.count == 5 { break }
            }
            #expect(
                seen == [
                    "ADDED a 101", "ADDED b 102", "MODIFIED a 103", "DELETED b 104", "ADDED live 105",
                ])
        }
    }

    @Test func withoutResourceVersionStartsWithSyntheticAdds() async throws {
        try await withFakeServer { server, client in
            _ = try await client.create(TestConfigMap("a", namespace: "x"))
            _ = try await client.create(TestConfigMap("b", namespace: "y"))
            var names: [String] = []
            for try await event in try await client.watch(TestConfigMap.self, namespace: "y") {
                #expect(event.type == .added)
                names.append(event.object.name)
                break
            }
            #expect(names == ["b"])
            let request = try #require(server.requests.last)
            #expect(request.path == "/api/v1/namespaces/y/configmaps")
            #expect(request.query["watch"] == "true")
            #expect(request.query["allowWatchBookmarks"] == "true")
            #expect(request.query["resourceVersion"] == nil)
        }
    }

    @Test func expiredResourceVersionIsWatchErrorExpired() async throws {
        try await withFakeServer { server, client in
            _ = try await client.create(TestConfigMap("a"))
            server.compact()
            let error = await #expect(throws: WatchError.self) {
                for try await _ in try await client.watch(TestConfigMap.self, resourceVersion: "100") {}
            }
            guard case .expired(let status) = error else {
                Issue.record("expected .expired, got \(String(describing: error))")
                return
            }
            #expect(status.code == 410)
        }
    }

    /// Bookmarks arrive as events; `timeoutSeconds` is sent, and the stream ends without an error when the server
    /// ends the watch (as it does once that time is up; here the test ends it, so no timing is involved).
    @Test func bookmarksAndServerTimeout() async throws {
        try await withFakeServer { server, client in
            _ = try await client.create(TestConfigMap("elsewhere", namespace: "other"))
            let rv = String(server.currentResourceVersion)
            var events: [WatchEvent<TestConfigMap>] = []
            let stream = try await client.watch(
                TestConfigMap.self, namespace: "default", resourceVersion: rv, timeoutSeconds: 300)
            try await eventually("the watch to open") { server.openWatches == 1 }
            #expect(server.requests.last { $0.query["watch"] == "true" }?.query["timeoutSeconds"] == "300")
            _ = try await client.create(TestConfigMap("noise", namespace: "other"))
            server.sendBookmark()
            server.endWatches()
            for try await event in stream { events.append(event) }
            #expect(events.map(\.type) == [.bookmark])
            #expect(events.first?.object.metadata.resourceVersion == String(server.currentResourceVersion))
        }
    }

    @Test func connectionDroppedInsideAnEventIsAnError() async throws {
        try await withFakeServer { server, client in
            let stream = try await client.watch(
                TestConfigMap.self, resourceVersion: String(server.currentResourceVersion))
            server.truncateNextEvent()
            _ = try await client.create(TestConfigMap("a"))
            await #expect(throws: (any Error).self) {
                for try await event in stream { Issue.record("unexpected event \(event)") }
            }
        }
    }

    @Test func serverErrorOnWatchIsKubeAPIError() async throws {
        try await withFakeServer { server, client in
            server.failNextWatches(1)
            let error = await #expect(throws: KubeAPIError.self) {
                for try await _ in try await client.watch(TestConfigMap.self) {}
            }
            #expect(error?.httpStatus == 500)
            #expect(error?.status.message == "scripted watch failure")
        }
    }
}
