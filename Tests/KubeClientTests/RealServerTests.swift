import APIServer
import Foundation
import KubeClient
import KubeModel
import Synchronization
import Testing
import WeftNet

/// Weft's real `APIServer`, in-process on loopback with TLS and token authentication, in a data directory that
/// outlives restarts: `stop()` and `start()` again serve the same state on the same port.
final class RealServer: Sendable {
    let dataDir: String
    private let configure: @Sendable (inout APIServerConfiguration) -> Void
    private let state = Mutex<(server: APIServer?, port: Int)>((nil, 0))

    init(dataDir: String, configure: @escaping @Sendable (inout APIServerConfiguration) -> Void) {
        self.dataDir = dataDir
        self.configure = configure
    }

    /// The running server.
    var server: APIServer {
        get throws { try #require(state.withLock { $0.server }) }
    }

    /// Starts the server: on an ephemeral port the first time, on the same port afterwards (or on `port`).
    @discardableResult
    func start(port: Int? = nil) async throws -> APIServer {
        var configuration = APIServerConfiguration(dataDir: dataDir, port: port ?? state.withLock { $0.port })
        configure(&configuration)
        let server = try APIServer(configuration: configuration)
        let address = try await server.start()
        state.withLock { state in
            state.server = server
            if port == nil { state.port = address.port }
        }
        return server
    }

    /// Shuts the server down (its watches end, its port closes).
    func stop() async {
        guard
            let server = state.withLock({ s in
                defer { s.server = nil }; return s.server
            })
        else { return }
        await server.shutdown(gracePeriod: .seconds(1))
    }

    /// A client built from the admin kubeconfig the server wrote (TLS with the server's CA, bearer token).
    func makeClient() throws -> KubeClient {
        let configuration = try KubeConfig.load(path: dataDir + "/kubeconfig").clientConfiguration()
        return try KubeClient(configuration: configuration)
    }
}

/// Runs `body` against a fresh real server and a client of it; cleans both up and removes the data directory.
func withRealServer(
    configure: @escaping @Sendable (inout APIServerConfiguration) -> Void = { _ in },
    _ body: (RealServer, KubeClient) async throws -> Void
) async throws {
    try await withTempDirectory { directory in
        let server = RealServer(dataDir: directory.path + "/data", configure: configure)
        try await server.start()
        let client = try server.makeClient()
        do {
            try await body(server, client)
        } catch {
            try? await client.shutdown()
            await server.stop()
            throw error
        }
        try await client.shutdown()
        await server.stop()
    }
}

/// Expects `body` to fail with a `KubeAPIError` of this HTTP code and reason; returns the error.
@discardableResult
func expectAPIError(
    _ code: Int, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> KubeAPIError? {
    do {
        try await body()
        Issue.record("expected HTTP \(code) \(reason), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as KubeAPIError {
        #expect(error.httpStatus == code, sourceLocation: sourceLocation)
        #expect(error.status.code == code, sourceLocation: sourceLocation)
        #expect(error.reason == reason, sourceLocation: sourceLocation)
        #expect(error.status.status == "Failure", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected KubeAPIError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Counts what an informer's handlers saw, per object: `add`, `update`, `delete` in order.
final class Tally: Sendable {
    private let events = Mutex<[(kind: String, name: String, rv: String)]>([])
    private let gate = Mutex<(armed: String?, waiting: CheckedContinuation<Void, Never>?, blocked: Bool)>(
        (nil, nil, false))

    func handlers() -> Informer<ConfigMap>.Handlers {
        Informer.Handlers(
            onAdd: { self.record("add", $0) },
            onUpdate: { _, new in
                self.record("update", new)
                await self.passGate(new.name)
            },
            onDelete: { self.record("delete", $0) })
    }

    private func record(_ kind: String, _ object: ConfigMap) {
        events.withLock { $0.append((kind, object.name, object.metadata.resourceVersion ?? "")) }
    }

    var count: Int { events.withLock { $0.count } }

    /// The events after the first `from`, as `kind name`, sorted (the order across objects is not specified).
    func since(_ from: Int) -> [String] {
        events.withLock { $0[from...].map { "\($0.kind) \($0.name)" } }.sorted()
    }

    /// The next update of `name` blocks the informer inside its handler until `openGate()`.
    func armGate(_ name: String) { gate.withLock { $0.armed = name } }

    var isBlocked: Bool { gate.withLock { $0.blocked } }

    func openGate() {
        let waiting = gate.withLock { g in
            defer { g = (nil, nil, false) }
            return g.waiting
        }
        waiting?.resume()
    }

    private func passGate(_ name: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let pass = gate.withLock { g in
                guard g.armed == name else { return true }
                g.armed = nil
                g.waiting = continuation
                g.blocked = true
                return false
            }
            if pass { continuation.resume() }
        }
    }
}

/// Polls an async condition until it holds, failing after `timeout`.
func eventuallyAsync(
    _ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Runs a ConfigMap informer (namespace `default`) while `body` runs; cancels it afterwards.
func withConfigMapInformer(
    _ client: KubeClient, watchTimeoutSeconds: Int = 300,
    _ body: (Informer<ConfigMap>, Tally) async throws -> Void
) async throws {
    let informer = Informer<ConfigMap>(
        client: client,
        options: .init(
            namespace: "default", watchTimeoutSeconds: watchTimeoutSeconds,
            backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200), jitter: 0)))
    let tally = Tally()
    informer.addHandlers(tally.handlers())
    #expect(!informer.hasSynced)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await informer.run() }
        defer { group.cancelAll() }
        try await informer.waitForSync()
        #expect(informer.hasSynced)
        try await body(informer, tally)
        tally.openGate()
        group.cancelAll()
        try await group.waitForAll()
    }
}

func configMap(_ name: String, _ value: String = "0") -> ConfigMap {
    ConfigMap(metadata: ObjectMeta(name: name, namespace: "default"), data: ["v": value])
}

/// The informer's store must equal the server's list: same names, same resourceVersions.
func expectStoreMatchesServer(
    _ informer: Informer<ConfigMap>, _ client: KubeClient, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let listed = try await client.list(ConfigMap.self, namespace: "default").items
    let cached = informer.store.list(namespace: "default")
    #expect(
        cached.map { "\($0.name)@\($0.metadata.resourceVersion ?? "")" }
            == listed.sorted { $0.name < $1.name }.map { "\($0.name)@\($0.metadata.resourceVersion ?? "")" },
        sourceLocation: sourceLocation)
}

/// Merges a data value into a ConfigMap.
func bump(_ client: KubeClient, _ name: String, _ value: String) async throws {
    _ = try await client.patch(
        ConfigMap.self, name: name, namespace: "default", type: .merge,
        body: .object(["data": .object(["v": .string(value)])]))
}

@Suite(
    "KubeClient against the real APIServer", .serialized)
struct RealServerTests {
    @Test func podCRUDWithStatusErrors() async throws {
        try await withRealServer { _, client in
            var pod = Pod(
                metadata: ObjectMeta(name: "web", namespace: "default", labels: ["app": "web"]),
                spec: PodSpec(containers: [Container(name: "c", image: "busybox"), Container(name: "d", image: "x")]))
            let created = try await client.create(pod)
            #expect(created.metadata.uid?.isEmpty == false)
            #expect(created.metadata.creationTimestamp != nil)
            #expect(created.spec?.restartPolicy == "Always")
            let rv1 = try #require(created.metadata.resourceVersion)

            let fetched = try await client.get(Pod.self, name: "web", namespace: "default")
            #expect(fetched == created)
            #expect(try await client.list(Pod.self, namespace: "default").items.map(\.name) == ["web"])
            #expect(try await client.list(Pod.self, labelSelector: "app=web").items.count == 1)
            #expect(try await client.list(Pod.self, labelSelector: "app=other").items.isEmpty)

            await expectAPIError(409, "AlreadyExists") { _ = try await client.create(pod) }

            pod = created
            pod.metadata.labels?["tier"] = "front"
            let updated = try await client.update(pod)
            #expect(updated.metadata.labels?["tier"] == "front")
            #expect(updated.metadata.resourceVersion != rv1)
            // The same write again carries a stale resourceVersion.
            let conflict = await expectAPIError(409, "Conflict") { _ = try await client.update(pod) }
            #expect(conflict?.isConflict == true)

            // Strategic merge patch merges the containers list by name.
            let patched = try await client.patch(
                Pod.self, name: "web", namespace: "default", type: .strategic,
                body: .object([
                    "spec": .object([
                        "containers": .array([.object(["name": .string("c"), "image": .string("nginx")])])
                    ])
                ]))
            #expect(patched.spec?.containers.map(\.name) == ["c", "d"])
            #expect(patched.spec?.containers.map(\.image) == ["nginx", "x"])

            try await client.delete(Pod.self, name: "web", namespace: "default")
            let missing = await expectAPIError(404, "NotFound") {
                _ = try await client.get(Pod.self, name: "web", namespace: "default")
            }
            #expect(missing?.isNotFound == true)
            #expect(missing?.status.details?.name == "web")
            #expect(missing?.status.details?.kind == "pods")
            await expectAPIError(404, "NotFound") {
                try await client.delete(Pod.self, name: "web", namespace: "default")
            }
            await expectAPIError(404, "NotFound") {
                _ = try await client.create(
                    Pod(
                        metadata: ObjectMeta(name: "p", namespace: "nowhere"),
                        spec: PodSpec(containers: [Container(name: "c", image: "busybox")])))
            }
        }
    }

    @Test func serviceCRUDAndPatchTypes() async throws {
        try await withRealServer { _, client in
            let service = Service(
                metadata: ObjectMeta(name: "api", namespace: "default"),
                spec: ServiceSpec(ports: [ServicePort(name: "http", port: 80)], selector: ["app": "api"]))
            let created = try await client.create(service)
            #expect(created.spec?.type == "ClusterIP")
            #expect(created.spec?.ports?.first?.protocol == "TCP")
            #expect(created.spec?.ports?.first?.targetPort == 80)

            let merged = try await client.patch(
                Service.self, name: "api", namespace: "default", type: .merge,
                body: .object(["metadata": .object(["labels": .object(["team": .string("net")])])]))
            #expect(merged.metadata.labels == ["team": "net"])
            #expect(merged.spec?.selector == ["app": "api"])

            let jsonPatched = try await client.patch(
                Service.self, name: "api", namespace: "default", type: .json,
                body: .array([
                    .object([
                        "op": .string("replace"), "path": .string("/spec/selector/app"), "value": .string("api2"),
                    ]),
                    .object(["op": .string("remove"), "path": .string("/metadata/labels/team")]),
                ]))
            #expect(jsonPatched.spec?.selector == ["app": "api2"])
            #expect(jsonPatched.metadata.labels?["team"] == nil)

            // A JSON patch whose test fails is refused and changes nothing.
            await expectAPIError(422, "Invalid") {
                _ = try await client.patch(
                    Service.self, name: "api", namespace: "default", type: .json,
                    body: .array([
                        .object(["op": .string("test"), "path": .string("/spec/type"), "value": .string("NodePort")])
                    ]))
            }
            let after = try await client.get(Service.self, name: "api", namespace: "default")
            #expect(after.metadata.resourceVersion == jsonPatched.metadata.resourceVersion)

            await expectAPIError(404, "NotFound") {
                _ = try await client.patch(
                    Service.self, name: "nope", namespace: "default", type: .merge, body: .object([:]))
            }
            try await client.delete(Service.self, name: "api", namespace: "default")
            // What remains is the server's own `kubernetes` Service.
            #expect(try await client.list(Service.self, namespace: "default").items.map(\.name) == ["kubernetes"])
        }
    }

    @Test func configMapCRUDAndPatchTypes() async throws {
        try await withRealServer { _, client in
            let created = try await client.create(
                ConfigMap(metadata: ObjectMeta(name: "cfg", namespace: "default"), data: ["a": "1", "b": "2"]))
            #expect(created.data == ["a": "1", "b": "2"])
            await expectAPIError(409, "AlreadyExists") {
                _ = try await client.create(ConfigMap(metadata: ObjectMeta(name: "cfg", namespace: "default")))
            }

            let merged = try await client.patch(
                ConfigMap.self, name: "cfg", namespace: "default", type: .merge,
                body: .object(["data": .object(["a": .null, "c": .string("3")])]))
            #expect(merged.data == ["b": "2", "c": "3"])
            let strategic = try await client.patch(
                ConfigMap.self, name: "cfg", namespace: "default", type: .strategic,
                body: .object(["data": .object(["d": .string("4")])]))
            #expect(strategic.data == ["b": "2", "c": "3", "d": "4"])
            let json = try await client.patch(
                ConfigMap.self, name: "cfg", namespace: "default", type: .json,
                body: .array([.object(["op": .string("add"), "path": .string("/data/e"), "value": .string("5")])]))
            #expect(json.data?["e"] == "5")

            // Optimistic concurrency: an update from the first version is refused, one from the latest succeeds.
            var stale = created
            stale.data = ["x": "y"]
            await expectAPIError(409, "Conflict") { _ = try await client.update(stale) }
            var fresh = json
            fresh.data = ["x": "y"]
            #expect(try await client.update(fresh).data == ["x": "y"])

            // Unknown fields the client does not model survive a round trip.
            let withExtra = try await client.patch(
                ConfigMap.self, name: "cfg", namespace: "default", type: .merge,
                body: .object(["metadata": .object(["annotations": .object(["k": .string("v")])])]))
            #expect(withExtra.metadata.annotations == ["k": "v"])

            try await client.delete(ConfigMap.self, name: "cfg", namespace: "default")
            await expectAPIError(404, "NotFound") {
                _ = try await client.get(ConfigMap.self, name: "cfg", namespace: "default")
            }
        }
    }

    /// Events arrive typed and in order; a client that drops its watch closes it on the server too (the server
    /// stops streaming to it and forgets the subscription) without waiting for the server's next write.
    @Test func watchDeliversTypedEventsInOrder() async throws {
        try await withRealServer { server, client in
            let list = try await client.list(ConfigMap.self, namespace: "default")
            var seen: [String] = []
            do {
                let events = try await client.watch(
                    ConfigMap.self, namespace: "default", resourceVersion: list.metadata.resourceVersion)
                _ = try await client.create(configMap("w"))
                try await bump(client, "w", "1")
                try await client.delete(ConfigMap.self, name: "w", namespace: "default")
                for try await event in events {
                    seen.append("\(event.type.rawValue) \(event.object.name)")
                    if seen.count == 3 { break }
                }
            }
            #expect(seen == ["ADDED w", "MODIFIED w", "DELETED w"])
            let store = try server.server.store
            try await eventuallyAsync("the server to close the dropped watch", timeout: .seconds(5)) {
                await store.subscriberCount(of: Resources.configMap) == 0
            }
        }
    }

    /// An agent runs many informers on one client: more concurrent watches than an HTTP/1 connection pool's usual
    /// limit (8), and ordinary requests still go through while they are open.
    @Test func manyConcurrentWatchesOnOneClient() async throws {
        try await withRealServer { server, client in
            let store = try server.server.store
            let watchers = 20
            let tasks = (0..<watchers).map { _ in
                Task {
                    let events = try await client.watch(ConfigMap.self, namespace: "default")
                    for try await event in events where event.object.name == "m" { return true }
                    return false
                }
            }
            defer { for task in tasks { task.cancel() } }
            try await eventuallyAsync("\(watchers) watches to open", timeout: .seconds(10)) {
                await store.subscriberCount(of: Resources.configMap) == watchers
            }
            _ = try await client.create(configMap("m"))
            for task in tasks { #expect(try await task.value) }
        }
    }

    /// (a) The server restarts on the same data directory: its watch history is empty, so the informer's resume
    /// gets 410 Gone and it relists, delivering exactly what changed while it was away.
    @Test func informerSurvivesServerRestart() async throws {
        try await withRealServer { server, client in
            for i in 0..<6 { _ = try await client.create(configMap("c\(i)")) }
            try await withConfigMapInformer(client) { informer, tally in
                #expect(tally.since(0) == (0..<6).map { "add c\($0)" })
                #expect(informer.store.count == 6)

                _ = try await client.create(configMap("live"))
                try await eventually("the live add") { tally.count == 7 }
                let mark = tally.count

                await server.stop()
                // Change things while the informer cannot reach the server: the same data directory served on
                // another port, through another client.
                try await server.start(port: 0)
                let other = try server.makeClient()
                _ = try await other.create(configMap("n1"))
                _ = try await other.create(configMap("n2"))
                try await bump(other, "c0", "1")
                try await bump(other, "c0", "2")
                try await bump(other, "c1", "1")
                try await other.delete(ConfigMap.self, name: "c2", namespace: "default")
                try await other.delete(ConfigMap.self, name: "c3", namespace: "default")
                _ = try await other.create(configMap("gone"))
                try await other.delete(ConfigMap.self, name: "gone", namespace: "default")
                try await other.shutdown()
                await server.stop()

                try await server.start()
                let expected = ["add n1", "add n2", "delete c2", "delete c3", "update c0", "update c1"].sorted()
                try await eventually("the changes made during the restart") { tally.count >= mark + expected.count }
                // Nothing more arrives (no duplicates).
                try await Task.sleep(for: .milliseconds(300))
                #expect(tally.since(mark) == expected)
                if case .expired? = informer.lastError as? WatchError {
                } else {
                    Issue.record(
                        "the informer did not relist after 410 Gone: lastError \(String(describing: informer.lastError))"
                    )
                }
                try await expectStoreMatchesServer(informer, client)
                #expect(informer.store.get(namespace: "default", name: "c0")?.data == ["v": "2"])

                // And it keeps watching.
                let mark2 = tally.count
                _ = try await client.create(configMap("after"))
                try await bump(client, "c1", "2")
                try await eventually("live events after the restart") { tally.count == mark2 + 2 }
                #expect(tally.since(mark2) == ["add after", "update c1"])
                try await expectStoreMatchesServer(informer, client)
            }
        }
    }

    /// (b) The informer is slow (blocked in a handler) while its watch ends and more changes happen than the
    /// server's watch history holds: the resume gets 410 Gone, and the relist delivers the difference.
    @Test func informerRelistsAfterCompaction() async throws {
        try await withRealServer(configure: { $0.watchHistory = 8 }) { server, client in
            for i in 0..<10 { _ = try await client.create(configMap("c\(i)")) }
            _ = try await client.create(configMap("gate"))
            try await withConfigMapInformer(client, watchTimeoutSeconds: 1) { informer, tally in
                #expect(tally.count == 11)
                tally.armGate("gate")
                try await bump(client, "gate", "1")
                try await eventually("the informer to block in its handler") { tally.isBlocked }
                let mark = tally.count
                // The server ends the watch after its timeout; the informer is still busy.
                let store = try server.server.store
                try await eventuallyAsync("the watch to end") {
                    await store.subscriberCount(of: Resources.configMap) == 0
                }

                for i in 0..<4 { _ = try await client.create(configMap("n\(i)")) }
                for i in 0..<4 {
                    try await bump(client, "c\(i)", "1")
                    try await bump(client, "c\(i)", "2")
                }
                for i in 6..<10 { try await client.delete(ConfigMap.self, name: "c\(i)", namespace: "default") }
                // 20 changes, more than the 8 the server keeps.
                tally.openGate()

                let expected =
                    ((0..<4).map { "add n\($0)" } + (0..<4).map { "update c\($0)" }
                    + (6..<10).map { "delete c\($0)" }).sorted()
                try await eventually("the relist") { tally.count >= mark + expected.count }
                try await Task.sleep(for: .milliseconds(300))
                #expect(tally.since(mark) == expected)
                guard case .expired? = informer.lastError as? WatchError else {
                    Issue.record("expected a 410 relist, lastError: \(String(describing: informer.lastError))")
                    return
                }
                try await expectStoreMatchesServer(informer, client)
            }
        }
    }

    /// (c) Watches end under the informer again and again (server-side `timeoutSeconds`, and the server ending all
    /// watches) while objects change: every change is delivered exactly once, and no relist is needed.
    @Test func informerSurvivesDroppedWatches() async throws {
        try await withRealServer { server, client in
            let store = try server.server.store
            try await withConfigMapInformer(client, watchTimeoutSeconds: 1) { informer, tally in
                let dropper = Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(70))
                        await store.finishAllWatches()
                    }
                }
                defer { dropper.cancel() }
                let n = 30
                for i in 0..<n {
                    _ = try await client.create(configMap("o\(i)"))
                    try await Task.sleep(for: .milliseconds(15))
                }
                for i in 0..<n {
                    try await bump(client, "o\(i)", "1")
                    try await Task.sleep(for: .milliseconds(15))
                }
                for i in 0..<n / 2 {
                    try await client.delete(ConfigMap.self, name: "o\(i)", namespace: "default")
                    try await Task.sleep(for: .milliseconds(15))
                }
                // Across at least one server-side timeout, too.
                try await Task.sleep(for: .milliseconds(1200))
                dropper.cancel()
                let expected =
                    ((0..<n).map { "add o\($0)" } + (0..<n).map { "update o\($0)" }
                    + (0..<n / 2).map { "delete o\($0)" }).sorted()
                try await eventually("all events") { tally.count >= expected.count }
                try await Task.sleep(for: .milliseconds(300))
                #expect(tally.since(0) == expected)
                #expect(informer.lastError == nil, "no relist and no transport error expected")
                try await expectStoreMatchesServer(informer, client)
            }
        }
    }
}
