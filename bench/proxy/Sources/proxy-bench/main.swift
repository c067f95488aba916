// proxy-bench: the service proxy's control plane (ProxySyncer → libnftables → kernel) against `nft -f` loading the
// same text, the load spread of BucketTable, and `install`, which programs a ruleset for the data-plane harness.
// Every command that touches nftables must run inside a network namespace made for the benchmark (run.sh does).
import Foundation
import KubeModel
import NFTables
import NFTablesTesting
import ServiceProxy
import Synchronization
import WeftNet

// MARK: Objects

/// IPv4 address `base` + `offset`, as text.
func address(_ base: String, plus offset: Int) -> String {
    let parts = base.split(separator: ".").compactMap { UInt32($0) }
    let value = parts.reduce(0) { $0 << 8 | $1 } + UInt32(offset)
    return (0..<4).map { String(value >> (24 - 8 * UInt32($0)) & 255) }.joined(separator: ".")
}

/// A ClusterIP Service with one TCP port and its EndpointSlice (every endpoint ready), as the informers hold them.
func service(_ name: String, clusterIP: String, port: Int, targetPort: Int, endpoints: [String])
    -> (Service, EndpointSlice)
{
    var spec = ServiceSpec(
        type: "ClusterIP", ports: [ServicePort(name: "p", protocol: .tcp, port: port, targetPort: .int(targetPort))],
        selector: ["app": name], clusterIP: clusterIP)
    spec.clusterIPs = [clusterIP]
    let svc = Service(metadata: ObjectMeta(name: name, namespace: "bench"), spec: spec)
    let slice = EndpointSlice(
        metadata: ObjectMeta(
            name: name + "-x7k2p", namespace: "bench", labels: [EndpointSlice.serviceNameLabel: name]),
        addressType: "IPv4",
        endpoints: endpoints.enumerated().map { index, ip in
            Endpoint(
                addresses: [ip], conditions: EndpointConditions(ready: true, serving: true, terminating: false),
                nodeName: "node-\(index % 3)")
        },
        ports: [EndpointPort(name: "p", protocol: .tcp, port: targetPort)])
    return (svc, slice)
}

/// `count` filler services: cluster IPs from 10.100.0.0, `endpoints` pod IPs each from 10.244.0.0.
func fillers(_ count: Int, endpoints: Int) -> [(Service, EndpointSlice)] {
    (0..<count).map { i in
        service(
            "svc-\(i)", clusterIP: address("10.100.0.0", plus: i), port: 80, targetPort: 8080,
            endpoints: (0..<endpoints).map { address("10.244.0.0", plus: i * endpoints + $0) })
    }
}

let node = ProxyNode(name: "node-1")
let clusterCIDRs = ["10.201.0.0/16", "10.244.0.0/14"].compactMap { IPPrefix($0) }

// MARK: Measuring

extension NFTablesBackend {
    func apply(deleting table: String) throws {
        var tx = Transaction()
        tx.delete(Table(family: .inet, name: table))
        try apply(tx)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// Seconds `nft -f` takes to load `text` (written to a file first, not timed): the floor.
func nftLoad(_ text: String, file: String) throws -> Double {
    try text.write(toFile: file, atomically: false, encoding: .utf8)
    let start = ContinuousClock.now
    let result = try ProcessRunner.run("nft", arguments: ["-f", file])
    let seconds = (ContinuousClock.now - start).seconds
    guard result.succeeded else { throw BenchError(description: "nft -f \(file): \(result.stderrString)") }
    return seconds
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[max(0, min(sorted.count - 1, rank))]
}

func ms(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }

// MARK: Commands

/// Full syncs at each size and one-endpoint changes at the largest, each beside `nft -f` of the same text.
func control(sizes: [Int], endpoints: Int, rounds: Int, changes: Int, workDir: String) async throws -> [String: Any] {
    let recorder = RecordingNFTables(defaultNFTablesBackend())
    guard recorder.inner is LibNFTables else { throw BenchError(description: "libnftables.so.1 is not loadable") }
    let file = workDir + "/ruleset.nft"
    var results: [String: Any] = [:]
    var syncer: ProxySyncer? = nil
    var objects: [(Service, EndpointSlice)] = []
    for size in sizes {
        objects = fillers(size, endpoints: endpoints)
        var rows: [[String: Double]] = []
        // Round 0 is a warm-up (it also leaves a table of this size, which every timed load then replaces).
        for round in 0...rounds {
            let fresh = ProxySyncer(node: node, clusterCIDRs: clusterCIDRs, backend: recorder)
            for (svc, slice) in objects {
                await fresh.set(svc)
                await fresh.set(slice)
            }
            recorder.reset()
            let start = ContinuousClock.now
            let report = try await fresh.sync()
            let sync = (ContinuousClock.now - start).seconds
            guard report.full else { throw BenchError(description: "first sync was not full") }
            let (tx, apply) = recorder.last
            let renderStart = ContinuousClock.now
            let text = tx.render()
            let render = (ContinuousClock.now - renderStart).seconds
            // When the sync made the table (round 0), nft makes it too: from nothing (untimed delete first).
            if tx.operations.contains(where: { if case .table = $0.object { true } else { false } }) {
                try recorder.inner.apply(deleting: ProxyRuleset.table)
            }
            let floor = try nftLoad(text, file: file)
            syncer = fresh
            if round == 0 { continue }
            rows.append([
                "sync_s": sync, "apply_s": apply, "render_s": render, "nft_f_s": floor,
                "operations": Double(tx.count), "bytes": Double(text.utf8.count),
            ])
            print(
                "full sync \(size) services × \(endpoints): syncer \(ms(sync)) (in backend.apply \(ms(apply)), "
                    + "render alone \(ms(render))), nft -f \(ms(floor)), ratio \(String(format: "%.2f", sync / floor)); "
                    + "\(tx.count) operations, \(text.utf8.count / 1024) KiB")
        }
        results["full_\(size)"] = rows
    }
    // One change at the largest size: endpoint 0 of one service replaced, then put back (two samples); the kernel
    // holds what the syncer believes after each pair, as nft -f replays the same two transactions.
    guard let syncer, let size = sizes.last, changes > 0 else { return results }
    var rows: [[String: Double]] = []
    for k in 0..<changes {
        let index = (k * 7919) % size
        let (_, original) = objects[index]
        var changed = original
        changed.endpoints[0].addresses = [address("10.248.0.0", plus: k)]
        var texts: [String] = []
        var samples: [(Double, Double, Int)] = []
        for slice in [changed, original] {
            recorder.reset()
            let start = ContinuousClock.now
            await syncer.set(slice)
            let report = try await syncer.sync()
            let seconds = (ContinuousClock.now - start).seconds
            guard !report.full, report.services == 1 else { throw BenchError(description: "unexpected \(report)") }
            let (tx, apply) = recorder.last
            texts.append(tx.render())
            samples.append((seconds, apply, tx.count))
        }
        for (text, sample) in zip(texts, samples) {
            let floor = try nftLoad(text, file: file)
            rows.append(["sync_s": sample.0, "apply_s": sample.1, "nft_f_s": floor, "operations": Double(sample.2)])
        }
    }
    let column = { (key: String) in rows.map { $0[key]! } }
    print(
        "one change at \(size) services (\(rows.count) samples, \(Int(rows[0]["operations"]!)) operations): "
            + "set+sync p50 \(ms(percentile(column("sync_s"), 50))) p99 \(ms(percentile(column("sync_s"), 99))) "
            + "(backend.apply p50 \(ms(percentile(column("apply_s"), 50)))), "
            + "nft -f p50 \(ms(percentile(column("nft_f_s"), 50))) p99 \(ms(percentile(column("nft_f_s"), 99)))")
    results["change_\(size)"] = rows
    return results
}

/// BucketTable's spread: each endpoint's share relative to an even one.
func spread(_ counts: [Int]) -> [String: Any] {
    var out: [String: Any] = [:]
    for n in counts {
        let shares = BucketTable.relativeShares(endpoints: n)
        let (low, high) = (shares.min()!, shares.max()!)
        let ok = low >= 0.8 && high <= 1.2
        print(
            "spread \(n) endpoints: \(BucketTable.size(forEndpoints: n)) buckets, shares "
                + String(
                    format: "%.3f–%.3f of even (%+.1f %% / %+.1f %%)", low, high, (low - 1) * 100, (high - 1) * 100)
                + (ok ? ", within ±20 %" : ", OUTSIDE ±20 %"))
        out["\(n)"] = ["buckets": BucketTable.size(forEndpoints: n), "shares": shares]
    }
    return out
}

/// Programs the proxy table (full sync) with `total` services: the targets, then fillers of 5 endpoints.
/// A target is `CLUSTERIP:PORT=EP:PORT[,EP:PORT…]`.
func install(total: Int, targets: [String]) async throws -> [String: Any] {
    var objects: [(Service, EndpointSlice)] = []
    for (i, target) in targets.enumerated() {
        let sides = target.split(separator: "=").map(String.init)
        let endpoints = sides.count == 2 ? sides[1].split(separator: ",").map(String.init) : []
        guard let front = sides.first?.split(separator: ":"), front.count == 2, let port = Int(front[1]),
            let targetPort = endpoints.first?.split(separator: ":").last.flatMap({ Int($0) })
        else { throw BenchError(description: "bad --target \(target)") }
        objects.append(
            service(
                "target-\(i)", clusterIP: String(front[0]), port: port, targetPort: targetPort,
                endpoints: endpoints.map { String($0.split(separator: ":")[0]) }))
    }
    objects += fillers(max(0, total - objects.count), endpoints: 5)
    let syncer = ProxySyncer(node: node, clusterCIDRs: clusterCIDRs, backend: defaultNFTablesBackend())
    for (svc, slice) in objects {
        await syncer.set(svc)
        await syncer.set(slice)
    }
    let start = ContinuousClock.now
    let report = try await syncer.sync()
    let seconds = (ContinuousClock.now - start).seconds
    guard report.skipped.isEmpty else { throw BenchError(description: "skipped: \(report.skipped)") }
    return ["services": objects.count, "operations": report.operations, "sync_s": seconds]
}

// MARK: Main

func option(_ name: String, _ arguments: [String]) -> [String] {
    arguments.indices.filter { arguments[$0] == name && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
}

let usage = """
    usage: proxy-bench control [--sizes 1000,10000] [--endpoints 5] [--rounds 3] [--changes 20] [--dir DIR] [--json FILE]
           proxy-bench spread [--endpoints 3,50,1000] [--json FILE]
           proxy-bench install --services N [--target CLUSTERIP:PORT=EP:PORT[,EP:PORT…]]… [--json FILE]
    """
let arguments = Array(CommandLine.arguments.dropFirst())
func int(_ name: String, _ fallback: Int) -> Int { option(name, arguments).last.flatMap { Int($0) } ?? fallback }
func ints(_ name: String, _ fallback: [Int]) -> [Int] {
    option(name, arguments).last.map { $0.split(separator: ",").compactMap { Int($0) } } ?? fallback
}

do {
    let result: [String: Any]
    switch arguments.first {
    case "control":
        result = try await control(
            sizes: ints("--sizes", [1000, 10000]), endpoints: int("--endpoints", 5), rounds: int("--rounds", 3),
            changes: int("--changes", 20), workDir: option("--dir", arguments).last ?? "/tmp")
    case "spread":
        result = spread(ints("--endpoints", [3, 50, 1000]))
    case "install":
        result = try await install(total: int("--services", 10), targets: option("--target", arguments))
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
    if let path = option("--json", arguments).last {
        try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }
} catch {
    FileHandle.standardError.write(Data("proxy-bench: \(error)\n".utf8))
    exit(1)
}
