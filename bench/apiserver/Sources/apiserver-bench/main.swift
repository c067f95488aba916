import APIServer
import Foundation
import KubeClient
import KubeModel
import Synchronization

// Weft's API server under load, in-process over loopback with TLS and a bearer token, driven by KubeClient:
// creates of ConfigMaps at a fixed concurrency, a list of all of them, and the delivery latency of changes to
// many concurrent watchers. See bench/README.md.

struct Options {
    var objects = 10_000
    var concurrency = 32
    var watchers = 50
    var changes = 200
    var burstConcurrency = 16
    var dataDir: String?

    static let usage = """
        usage: apiserver-bench [--objects N] [--concurrency N] [--watchers N] [--changes N] [--burst-concurrency N]
                               [--data-dir DIR]
        """

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func int(_ flag: String) throws -> Int {
            guard let text = rest.popFirst(), let value = Int(text), value > 0 else {
                throw BenchError("\(flag) needs a positive number\n\(Self.usage)")
            }
            return value
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--objects": objects = try int(flag)
            case "--concurrency": concurrency = try int(flag)
            case "--watchers": watchers = try int(flag)
            case "--changes": changes = try int(flag)
            case "--burst-concurrency": burstConcurrency = try int(flag)
            case "--data-dir":
                guard let dir = rest.popFirst() else { throw BenchError("--data-dir needs a directory") }
                dataDir = dir
            case "-h", "--help":
                print(Self.usage)
                exit(0)
            default: throw BenchError("unknown argument \(flag)\n\(Self.usage)")
            }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Percentiles and mean of durations, in milliseconds.
struct Summary: CustomStringConvertible {
    var count: Int
    var p50: Double
    var p90: Double
    var p99: Double
    var max: Double
    var mean: Double

    init(_ values: [Duration]) {
        let ms = values.map { Double($0.components.seconds) * 1e3 + Double($0.components.attoseconds) * 1e-15 }.sorted()
        func pick(_ p: Double) -> Double { ms.isEmpty ? .nan : ms[Int((p * Double(ms.count - 1)).rounded())] }
        count = ms.count
        p50 = pick(0.5)
        p90 = pick(0.9)
        p99 = pick(0.99)
        max = ms.last ?? .nan
        mean = ms.isEmpty ? .nan : ms.reduce(0, +) / Double(ms.count)
    }

    var description: String {
        String(
            format: "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms (n=%d)", p50, p90, p99, max, mean,
            count)
    }
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

func name(_ i: Int) -> String { String(format: "cm-%05d", i) }

/// Runs `work(i)` for i in 0..<count on `concurrency` tasks; returns each call's latency.
func fanOut(
    count: Int, concurrency: Int, _ work: @escaping @Sendable (Int) async throws -> Void
) async throws -> [Duration] {
    let next = Counter()
    return try await withThrowingTaskGroup(of: [Duration].self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var latencies: [Duration] = []
                while true {
                    let i = next.next()
                    guard i < count else { return latencies }
                    let start = ContinuousClock.now
                    try await work(i)
                    latencies.append(ContinuousClock.now - start)
                }
            }
        }
        var all: [Duration] = []
        for try await part in group { all += part }
        return all
    }
}

/// Hands out 0, 1, 2, … to concurrent tasks.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// One instant per change.
final class Stamps: Sendable {
    private let values: Mutex<[ContinuousClock.Instant?]>
    init(count: Int) { values = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ instant: ContinuousClock.Instant) { values.withLock { $0[i] = instant } }
    var all: [ContinuousClock.Instant?] { values.withLock { $0 } }
}

/// When each watcher received each change (indexed by change number).
final class Receipts: Sendable {
    private let table: Mutex<[[ContinuousClock.Instant?]]>
    private let received = Atomic<Int>(0)

    init(watchers: Int, changes: Int) {
        table = Mutex(Array(repeating: Array(repeating: nil, count: changes), count: watchers))
    }

    func record(watcher: Int, change: Int, at instant: ContinuousClock.Instant) {
        let fresh = table.withLock { t in
            guard t[watcher].indices.contains(change), t[watcher][change] == nil else { return false }
            t[watcher][change] = instant
            return true
        }
        if fresh { received.add(1, ordering: .relaxed) }
    }

    var count: Int { received.load(ordering: .relaxed) }
    var all: [[ContinuousClock.Instant?]] { table.withLock { $0 } }
}

func run(_ options: Options) async throws {
    let dataDir = options.dataDir ?? NSTemporaryDirectory() + "weft-apiserver-bench-" + UUID().uuidString
    defer { if options.dataDir == nil { try? FileManager.default.removeItem(atPath: dataDir) } }
    let server = try APIServer(configuration: APIServerConfiguration(dataDir: dataDir, port: 0))
    let address = try await server.start()
    let clientConfiguration = try KubeConfig.load(path: server.kubeconfigPath).clientConfiguration()
    print("weft apiserver on \(address.url) (TLS, bearer token), data in \(dataDir)")
    print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")

    var clients: [KubeClient] = []
    func makeClient() throws -> KubeClient {
        let client = try KubeClient(configuration: clientConfiguration)
        clients.append(client)
        return client
    }
    do {
        let client = try makeClient()
        // Warm up: TLS handshakes and code paths.
        for i in 0..<options.concurrency {
            _ = try await client.create(ConfigMap(metadata: ObjectMeta(name: "warm-\(i)", namespace: "kube-system")))
        }

        // 1. Creates.
        let start = ContinuousClock.now
        let createLatencies = try await fanOut(count: options.objects, concurrency: options.concurrency) { i in
            let object = ConfigMap(
                metadata: ObjectMeta(name: name(i), namespace: "default", labels: ["bench": "weft"]),
                data: ["index": String(i), "payload": String(repeating: "x", count: 64)])
            _ = try await client.create(object)
        }
        let createTime = ContinuousClock.now - start
        print(
            String(
                format: "create: %d ConfigMaps at concurrency %d in %.2f s = %.0f creates/s", options.objects,
                options.concurrency, seconds(createTime), Double(options.objects) / seconds(createTime)))
        print("  per create: \(Summary(createLatencies))")

        // 2. List.
        var listTimes: [Duration] = []
        var resourceVersion = ""
        for _ in 0..<3 {
            let t0 = ContinuousClock.now
            let list = try await client.list(ConfigMap.self, namespace: "default")
            listTimes.append(ContinuousClock.now - t0)
            guard list.items.count == options.objects else {
                throw BenchError("list returned \(list.items.count) items, expected \(options.objects)")
            }
            resourceVersion = list.metadata.resourceVersion ?? ""
        }
        print("list: \(options.objects) ConfigMaps (decoded as typed objects): \(Summary(listTimes))")

        // 3. Watch delivery latency.
        for burst in [1, options.burstConcurrency] {
            let changes = min(options.changes, options.objects)
            let receipts = Receipts(watchers: options.watchers, changes: changes)
            let round = burst == 1 ? "a" : "b"
            // Watch from now: the previous round's changes are not replayed.
            resourceVersion = String(await server.store.resourceVersion)
            let watchTasks = try await withThrowingTaskGroup(of: Task<Void, any Error>.self) { group in
                for w in 0..<options.watchers {
                    let watcherClient = try makeClient()
                    let rv = resourceVersion
                    group.addTask {
                        let events = try await watcherClient.watch(
                            ConfigMap.self, namespace: "default", resourceVersion: rv, allowBookmarks: false)
                        return Task {
                            for try await event in events {
                                let now = ContinuousClock.now
                                guard event.type == .modified, event.object.data?["round"] == round,
                                    let index = Int(event.object.name.dropFirst(3))
                                else { continue }
                                receipts.record(watcher: w, change: index, at: now)
                            }
                        }
                    }
                }
                var tasks: [Task<Void, any Error>] = []
                for try await task in group { tasks.append(task) }
                return tasks
            }
            defer { for task in watchTasks { task.cancel() } }
            let deadline = ContinuousClock.now + .seconds(30)
            while await server.store.subscriberCount < options.watchers {
                guard ContinuousClock.now < deadline else { throw BenchError("watchers did not open in 30 s") }
                try await Task.sleep(for: .milliseconds(10))
            }

            let responses = Stamps(count: changes)
            let sent = Stamps(count: changes)
            let t0 = ContinuousClock.now
            _ = try await fanOut(count: changes, concurrency: burst) { i in
                let before = ContinuousClock.now
                let _: ConfigMap = try await client.patch(
                    ConfigMap.self, name: name(i), namespace: "default", type: .merge,
                    body: .object(["data": .object(["round": .string(round)])]))
                let after = ContinuousClock.now
                sent.set(i, before)
                responses.set(i, after)
                if burst == 1 { try await Task.sleep(for: .milliseconds(2)) }
            }
            let writeTime = ContinuousClock.now - t0
            let expected = changes * options.watchers
            let waitDeadline = ContinuousClock.now + .seconds(30)
            while receipts.count < expected && ContinuousClock.now < waitDeadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            var fromResponse: [Duration] = []
            var fromRequest: [Duration] = []
            var early = 0
            let responseTimes = responses.all
            let sendTimes = sent.all
            for row in receipts.all {
                for (i, receipt) in row.enumerated() {
                    guard let receipt, let response = responseTimes[i], let before = sendTimes[i] else { continue }
                    if receipt < response { early += 1 }
                    fromResponse.append(receipt < response ? .zero : receipt - response)
                    fromRequest.append(receipt - before)
                }
            }
            let title =
                burst == 1
                ? "watch (\(options.watchers) watchers, \(changes) changes one at a time)"
                : "watch (\(options.watchers) watchers, \(changes) changes at concurrency \(burst))"
            print(
                "\(title): \(receipts.count)/\(expected) deliveries; writes took \(String(format: "%.2f", seconds(writeTime))) s"
            )
            print("  from the write's response: \(Summary(fromResponse)); \(early) arrived before the response")
            print("  from the write's request:  \(Summary(fromRequest))")
            if receipts.count < expected { throw BenchError("\(expected - receipts.count) deliveries missing") }
            for task in watchTasks { task.cancel() }
            let closeDeadline = ContinuousClock.now + .seconds(10)
            while await server.store.subscriberCount > 0 && ContinuousClock.now < closeDeadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    } catch {
        for client in clients { try? await client.shutdown() }
        await server.shutdown()
        throw error
    }
    for client in clients { try? await client.shutdown() }
    await server.shutdown()
}

do {
    try await run(try Options(Array(CommandLine.arguments.dropFirst())))
} catch {
    FileHandle.standardError.write(Data("apiserver-bench: \(error)\n".utf8))
    exit(1)
}
