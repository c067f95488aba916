import KubeClient
import KubeModel
import Synchronization
import Testing

/// What the handlers saw, in order: "add ns/name@rv", "update ns/name@rv->rv", "delete ns/name".
final class EventLog: Sendable {
    private let entries = Mutex<[String]>([])

    var all: [String] { entries.withLock { $0 } }

    func handlers() -> Informer<TestConfigMap>.Handlers {
        Informer.Handlers(
            onAdd: { o in self.append("add \(Self.id(o))@\(o.metadata.resourceVersion ?? "")") },
            onUpdate: { old, new in
                self.append(
                    "update \(Self.id(new))@\(old.metadata.resourceVersion ?? "")->\(new.metadata.resourceVersion ?? "")"
                )
            },
            onDelete: { o in self.append("delete \(Self.id(o))") })
    }

    private func append(_ s: String) { entries.withLock { $0.append(s) } }
    private static func id(_ o: TestConfigMap) -> String { "\(o.metadata.namespace ?? "")/\(o.name)" }
}

/// Runs an informer against a fake server while `body` runs, then cancels it and checks that `run()` returned.
func withInformer(
    options: Informer<TestConfigMap>.Options = .init(backoff: Backoff(initial: .milliseconds(1), jitter: 0)),
    seed: [TestConfigMap] = [],
    _ body: (FakeAPIServer, KubeClient, Informer<TestConfigMap>, EventLog) async throws -> Void
) async throws {
    try await withFakeServer { server, client in
        for object in seed { _ = try await client.create(object) }
        let informer = Informer<TestConfigMap>(client: client, options: options)
        let log = EventLog()
        informer.addHandlers(log.handlers())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await informer.run() }
            try await informer.waitForSync()
            try await body(server, client, informer, log)
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}

func lists(_ server: FakeAPIServer) -> Int {
    server.requests.filter { $0.method == "GET" && $0.query["watch"] == nil && $0.path.hasSuffix("configmaps") }.count
}

func watches(_ server: FakeAPIServer) -> [FakeAPIServer.Request] {
    server.requests.filter { $0.query["watch"] == "true" }
}

@Suite("informer")
struct InformerTests {
    @Test func listsThenWatchesAndKeepsTheStore() async throws {
        try await withInformer(seed: [TestConfigMap("a"), TestConfigMap("b", namespace: "other")]) {
            server, client, informer, log in
            #expect(informer.hasSynced)
            #expect(log.all == ["add default/a@101", "add other/b@102"])
            #expect(informer.store.list(namespace: "other").map(\.name) == ["b"])
            #expect(informer.store.get(namespace: "default", name: "a")?.metadata.uid == "uid-1")
            try await eventually("the watch to open") { server.openWatches == 1 }
            let watch = try #require(watches(server).first)
            #expect(watch.query["resourceVersion"] == "102")
            #expect(watch.query["allowWatchBookmarks"] == "true")
            #expect(watch.query["timeoutSeconds"] == "300")

            _ = try await client.create(TestConfigMap("c"))
            _ = try await client.patch(
                TestConfigMap.self, name: "a", type: .merge, body: .object(["data": .object(["k": .string("v")])]))
            try await client.delete(TestConfigMap.self, name: "b", namespace: "other")
            try await eventually("three more events") { log.all.count == 5 }
            #expect(
                log.all == [
                    "add default/a@101", "add other/b@102", "add default/c@103", "update default/a@101->104",
                    "delete other/b",
                ])
            #expect(informer.store.list().map(\.name) == ["a", "c"])
            #expect(informer.store.get(namespace: "default", name: "a")?.data == ["k": "v"])
            #expect(informer.store.list(namespace: "other").isEmpty)
            #expect(informer.resourceVersion == "105")
        }
    }

    /// After a 410 the informer lists again and delivers exactly what changed while it was away.
    @Test func relistAfterGoneDeliversOnlyTheDifference() async throws {
        try await withInformer(seed: [TestConfigMap("a"), TestConfigMap("b"), TestConfigMap("c")]) {
            server, client, informer, log in
            try await eventually("the watch to open") { server.openWatches == 1 }
            server.holdWatches()
            server.dropWatches()
            try await eventually("the informer to watch again") { server.heldWatches == 1 }
            try await client.delete(TestConfigMap.self, name: "b")
            _ = try await client.patch(
                TestConfigMap.self, name: "c", type: .merge, body: .object(["data": .object(["k": .string("v")])]))
            _ = try await client.create(TestConfigMap("d"))
            server.compact()
            server.releaseWatches()
            try await eventually("the relist") { log.all.count == 6 }
            try await eventually("a new watch") { server.openWatches == 1 }
            #expect(
                log.all == [
                    "add default/a@101", "add default/b@102", "add default/c@103",
                    "update default/c@103->105", "add default/d@106", "delete default/b",
                ])
            #expect(lists(server) == 2)
            #expect(informer.store.list().map(\.name) == ["a", "c", "d"])
            #expect(informer.resourceVersion == "106")
            // Still live after the relist, and nothing delivered twice.
            _ = try await client.create(TestConfigMap("e"))
            try await eventually("the next event") { log.all.count == 7 }
            #expect(log.all.last == "add default/e@107")
        }
    }

    /// A dropped connection (here inside an event, its second half never sent) is resumed from the last
    /// resourceVersion seen: no relist, nothing missed, nothing twice.
    @Test(arguments: [FakeAPIServer.Chunking.whole, .pieces(5), .coalesced])
    func reconnectResumesWithoutDuplicates(chunking: FakeAPIServer.Chunking) async throws {
        try await withInformer(seed: [TestConfigMap("a")]) { server, client, informer, log in
            server.setChunking(chunking)
            try await eventually("the watch to open") { server.openWatches == 1 }
            _ = try await client.create(TestConfigMap("b"))
            try await eventually("b") { log.all.count == 2 }

            server.truncateNextEvent()
            server.holdWatches()
            _ = try await client.create(TestConfigMap("c"))  // sent half, then the connection drops
            try await eventually("the informer to watch again") { server.heldWatches == 1 }
            _ = try await client.patch(
                TestConfigMap.self, name: "a", type: .merge, body: .object(["data": .object(["k": .string("v")])]))
            try await client.delete(TestConfigMap.self, name: "b")
            server.releaseWatches()
            try await eventually("the replay") { log.all.count == 5 }
            #expect(
                log.all == [
                    "add default/a@101", "add default/b@102", "add default/c@103", "update default/a@101->104",
                    "delete default/b",
                ])
            #expect(lists(server) == 1)
            // Every watch resumes from the last version seen. (On a loaded machine the held watch may time out
            // and be retried before it is released: more than one watch from 102, all the same.)
            let versions = watches(server).map { $0.query["resourceVersion"] ?? nil }
            #expect(
                versions.first == "101" && versions.count >= 2 && versions.dropFirst().allSatisfy { $0 == "102" },
                "\(versions) \(String(describing: informer.lastError))")
            // A plain drop between events resumes too.
            try await eventually("the watch to open") { server.openWatches == 1 }
            server.dropWatches()
            _ = try await client.create(TestConfigMap("d"))
            try await eventually("d") { log.all.count == 6 }
            #expect(log.all.last == "add default/d@106")
            #expect(lists(server) == 1)
        }
    }

    /// Bookmarks move the resourceVersion past events the informer does not see (other namespaces), so a
    /// reconnect after a compaction resumes instead of getting 410 and relisting.
    @Test func bookmarksAdvanceTheResourceVersion() async throws {
        try await withInformer(
            options: .init(namespace: "default", backoff: Backoff(initial: .milliseconds(1), jitter: 0)),
            seed: [TestConfigMap("a")]
        ) { server, client, informer, log in
            try await eventually("the watch to open") { server.openWatches == 1 }
            for i in 0..<3 { _ = try await client.create(TestConfigMap("x\(i)", namespace: "other")) }
            #expect(informer.resourceVersion == "101")
            server.sendBookmark()
            try await eventually("the bookmark") { informer.resourceVersion == "104" }
            server.compact()
            server.dropWatches()
            _ = try await client.create(TestConfigMap("b"))
            try await eventually("b") { log.all.count == 2 }
            #expect(log.all == ["add default/a@101", "add default/b@105"])
            #expect(lists(server) == 1)
            #expect(watches(server).last?.query["resourceVersion"] == "104")
            #expect(watches(server).allSatisfy { $0.path == "/api/v1/namespaces/default/configmaps" })
        }
    }

    @Test func failuresBackOffExponentially() async throws {
        let delays = Mutex<[Duration]>([])
        let options = Informer<TestConfigMap>.Options(
            backoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(40), multiplier: 2, jitter: 0),
            sleep: { d in
                delays.withLock { $0.append(d) }
                try await Task.sleep(for: .milliseconds(1))
            })
        let server = try await FakeAPIServer()
        server.failNextWatches(4)
        _ = try server.seed(TestConfigMap("a"))
        do {
            try await KubeClient.withClient(ClientConfiguration(server: server.url)) { client in
                let informer = Informer<TestConfigMap>(client: client, options: options)
                let log = EventLog()
                informer.addHandlers(log.handlers())
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await informer.run() }
                    try await informer.waitForSync()
                    try await eventually("the watch to open") { server.openWatches == 1 }
                    #expect(
                        delays.withLock { $0 } == [
                            .milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(40),
                        ])
                    #expect((informer.lastError as? KubeAPIError)?.httpStatus == 500)
                    _ = try await client.create(TestConfigMap("b"))
                    try await eventually("b") { log.all.count == 2 }
                    #expect(log.all == ["add default/a@101", "add default/b@102"])
                    group.cancelAll()
                }
            }
            try await server.shutdown()
        } catch {
            try? await server.shutdown()
            throw error
        }
    }

    @Test func waitForSyncEndsWhenRunStops() async throws {
        try await withFakeServer(requiredToken: "other") { server, client in
            let informer = Informer<TestConfigMap>(
                client: client, options: .init(backoff: Backoff(initial: .milliseconds(1), jitter: 0)))
            let run = Task { try await informer.run() }
            let waiter = Task { try await informer.waitForSync() }
            try await eventually("a failed list") { (informer.lastError as? KubeAPIError)?.httpStatus == 401 }
            #expect(!informer.hasSynced)
            run.cancel()
            try await run.value
            await #expect(throws: InformerStoppedError.self) { try await waiter.value }
            await #expect(throws: InformerStoppedError.self) { try await informer.waitForSync() }
        }
    }

    /// A server that repeats events on resume (here: the last two) does not make handlers see them twice.
    @Test func repeatedEventsAreNotDeliveredTwice() async throws {
        try await withInformer(seed: [TestConfigMap("a")]) { server, client, informer, log in
            try await eventually("the watch to open") { server.openWatches == 1 }
            _ = try await client.create(TestConfigMap("b"))
            try await client.delete(TestConfigMap.self, name: "a")
            try await eventually("b and a's deletion") { log.all.count == 3 }
            server.replayOverlap(2)
            server.dropWatches()
            _ = try await client.create(TestConfigMap("c"))
            try await eventually("c") { log.all.count >= 4 }
            try await Task.sleep(for: .milliseconds(50))
            #expect(log.all == ["add default/a@101", "add default/b@102", "delete default/a", "add default/c@104"])
            #expect(informer.store.list().map(\.name) == ["b", "c"])
        }
    }

    @Test func storeIndexesByNamespace() async throws {
        try await withInformer(
            seed: [
                TestConfigMap("z", namespace: "n1"), TestConfigMap("a", namespace: "n1"),
                TestConfigMap("m", namespace: "n2"),
            ]
        ) { _, _, informer, _ in
            #expect(informer.store.namespaces == ["n1", "n2"])
            #expect(informer.store.list(namespace: "n1").map(\.name) == ["a", "z"])
            #expect(informer.store.count == 3)
            #expect(informer.store.get(namespace: "n2", name: "a") == nil)
        }
    }
}
