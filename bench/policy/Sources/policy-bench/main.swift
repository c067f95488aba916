// policy-bench: the network-policy enforcer's control plane — PolicySyncer (PolicyCompiler → PolicyRuleset →
// libnftables → kernel) for N NetworkPolicies over M local pods, against `nft -f` loading the same transaction's
// text (the peer, in the same run), and small changes (a pod coming and going, a policy added and removed).
// Must run inside a network namespace made for the benchmark (run.sh does).
import Foundation
import KubeModel
import NFTables
import NFTablesTesting
import Policy
import Synchronization
import WeftNet

// MARK: Objects

/// IPv4 address `base` + `offset`, as text.
func address(_ base: String, plus offset: Int) -> String {
    let parts = base.split(separator: ".").compactMap { UInt32($0) }
    let value = parts.reduce(0) { $0 << 8 | $1 } + UInt32(offset)
    return (0..<4).map { String(value >> (24 - 8 * UInt32($0)) & 255) }.joined(separator: ".")
}

let namespaceCount = 20
let appCount = 50

func namespace(_ k: Int) -> Namespace {
    Namespace(metadata: ObjectMeta(name: "ns-\(k)", labels: ["team": "t\(k % 5)"]))
}

/// Pod `i`: in namespace `ns-(i % 20)`, labels `app-(i % 50)` and a role, a named container port, running on
/// node-1 at 10.244.0.0 + 10 + i.
func pod(_ i: Int, node: String = "node-1") -> Pod {
    var pod = Pod(
        metadata: ObjectMeta(
            name: "pod-\(i)", namespace: "ns-\(i % namespaceCount)",
            labels: ["app": "app-\(i % appCount)", "role": i % 3 == 0 ? "db" : "web"]),
        spec: PodSpec(
            containers: [
                Container(
                    name: "c",
                    ports: [
                        ContainerPort(name: "http", containerPort: 8080, protocol: .tcp),
                        ContainerPort(name: "dns", containerPort: 53, protocol: .udp),
                    ])
            ], nodeName: node))
    pod.status = PodStatus()
    pod.status?.phase = "Running"
    pod.status?.podIPs = [PodIP(ip: address("10.244.0.10", plus: i))]
    return pod
}

func selector(_ labels: [String: String]) -> LabelSelector { LabelSelector(matchLabels: labels) }

/// Policy `i` in namespace `ns-(i % 20)`, one of five shapes: pod-selector ingress on a port; namespace AND pod
/// selector on a named port; ipBlock with except on TCP and UDP; egress to pods on a port range; matchExpressions
/// ingress plus egress to everything but the pod CIDR.
func policy(_ i: Int) -> NetworkPolicy {
    let ns = "ns-\(i % namespaceCount)"
    let app = "app-\(i % appCount)"
    let other = "app-\((i * 7 + 3) % appCount)"
    var spec = NetworkPolicySpec(podSelector: selector(["app": app]))
    switch i % 5 {
    case 0:
        spec.ingress = [
            NetworkPolicyIngressRule(
                from: [NetworkPolicyPeer(podSelector: selector(["app": other]))],
                ports: [NetworkPolicyPort(protocol: .tcp, port: 8080)])
        ]
    case 1:
        spec.ingress = [
            NetworkPolicyIngressRule(
                from: [
                    NetworkPolicyPeer(
                        podSelector: selector(["role": "web"]),
                        namespaceSelector: selector(["team": "t\(i % 5)"]))
                ],
                ports: [NetworkPolicyPort(protocol: .tcp, port: "http")])
        ]
    case 2:
        spec.podSelector = selector(["role": "db"])
        spec.ingress = [
            NetworkPolicyIngressRule(
                from: [
                    NetworkPolicyPeer(
                        ipBlock: IPBlock(
                            cidr: "10.\(i % 200).0.0/16", except: ["10.\(i % 200).1.0/24", "10.\(i % 200).7.0/24"]))
                ],
                ports: [NetworkPolicyPort(protocol: .tcp, port: 5432), NetworkPolicyPort(protocol: .udp, port: 53)])
        ]
    case 3:
        spec.policyTypes = ["Egress"]
        spec.egress = [
            NetworkPolicyEgressRule(
                to: [
                    NetworkPolicyPeer(
                        podSelector: selector(["app": other]), namespaceSelector: selector(["team": "t\(i % 5)"]))
                ],
                ports: [NetworkPolicyPort(protocol: .tcp, port: 80, endPort: 90)])
        ]
    default:
        spec.ingress = [
            NetworkPolicyIngressRule(from: [
                NetworkPolicyPeer(
                    podSelector: LabelSelector(matchExpressions: [
                        LabelSelectorRequirement(
                            key: "app", operator: .in, values: [other, "app-\((i + 1) % appCount)"])
                    ]))
            ])
        ]
        spec.egress = [
            NetworkPolicyEgressRule(to: [
                NetworkPolicyPeer(ipBlock: IPBlock(cidr: "0.0.0.0/0", except: ["10.244.0.0/16"]))
            ])
        ]
        spec.policyTypes = ["Ingress", "Egress"]
    }
    return NetworkPolicy(metadata: ObjectMeta(name: "policy-\(i)", namespace: ns), spec: spec)
}

let node = PolicyNode(
    name: "node-1", addresses: [IPAddress("192.168.77.1")!, IPAddress("10.244.0.1")!],
    podCIDRs: [IPPrefix("10.244.0.0/16")!])

// MARK: Measuring

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// Seconds `nft -f` takes to load `text` (written to a file first, not timed): the peer.
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
func ratio(_ a: Double, _ b: Double) -> String { String(format: "%.2f", a / b) }

// MARK: Control

func control(policies: Int, pods: Int, rounds: Int, changes: Int, workDir: String) async throws -> [String: Any] {
    let recorder = RecordingNFTables(defaultNFTablesBackend())
    guard recorder.inner is LibNFTables else { throw BenchError(description: "libnftables.so.1 is not loadable") }
    let file = workDir + "/policy-ruleset.nft"
    let namespaces = (0..<namespaceCount).map(namespace)
    let podObjects = (0..<pods).map { pod($0) }
    let policyObjects = (0..<policies).map(policy)
    let inputs = PolicyInputs(networkPolicies: policyObjects, pods: podObjects, namespaces: namespaces)
    var results: [String: Any] = [:]
    var rows: [[String: Double]] = []
    var syncer: PolicySyncer? = nil
    // Round 0 is a warm-up (it also leaves a table, which every timed load then replaces).
    for round in 0...rounds {
        let compileStart = ContinuousClock.now
        let compiled = PolicyCompiler(node: node).compile(inputs)
        let compile = (ContinuousClock.now - compileStart).seconds
        guard compiled.skipped.isEmpty else { throw BenchError(description: "skipped: \(compiled.skipped)") }

        let fresh = PolicySyncer(node: node, backend: recorder)
        for namespace in namespaces { await fresh.set(namespace) }
        for pod in podObjects { await fresh.set(pod) }
        for policy in policyObjects { await fresh.set(policy) }
        recorder.reset()
        let start = ContinuousClock.now
        let report = try await fresh.sync()
        let sync = (ContinuousClock.now - start).seconds
        guard report.full else { throw BenchError(description: "first sync was not full") }
        let (tx, apply) = recorder.last
        let text = tx.render()
        let floor = try nftLoad(text, file: file)
        syncer = fresh
        if round == 0 { continue }
        rows.append([
            "compile_s": compile, "sync_s": sync, "sync_compile_s": report.compileDuration.seconds,
            "apply_s": apply, "nft_f_s": floor, "operations": Double(tx.count), "bytes": Double(text.utf8.count),
            "groups": Double(report.groups), "sets": Double(report.sets), "chains": Double(report.chains),
            "elements": Double(report.elements),
        ])
        print(
            "full sync, \(policies) policies × \(pods) local pods: syncer \(ms(sync)) = compile+diff "
                + "\(ms(report.compileDuration.seconds)) (PolicyCompiler alone \(ms(compile))) + backend.apply "
                + "\(ms(apply)); nft -f of the same text \(ms(floor)); ratio apply/nft -f \(ratio(apply, floor)), "
                + "sync/nft -f \(ratio(sync, floor)); \(report.groups) groups, \(report.chains) chains, "
                + "\(report.sets) sets, \(report.elements) elements, \(tx.count) operations, "
                + "\(text.utf8.count / 1024) KiB")
    }
    results["full"] = rows

    // Small changes on the programmed table: a new pod (then gone), a new policy (then gone). Each sample is
    // set+sync end to end; nft -f then replays the same partial transactions in the same order.
    guard let syncer, changes > 0 else { return results }
    for kind in ["pod", "policy"] {
        var samples: [(sync: Double, apply: Double, operations: Int, text: String)] = []
        for k in 0..<changes {
            for step in 0..<2 {
                recorder.reset()
                let start = ContinuousClock.now
                switch (kind, step) {
                case ("pod", 0): await syncer.set(pod(pods + k))
                case ("pod", _): await syncer.remove(pod(pods + k))
                case (_, 0): await syncer.set(policy(policies + k))
                default: await syncer.remove(policy(policies + k))
                }
                let report = try await syncer.sync()
                let seconds = (ContinuousClock.now - start).seconds
                guard !report.full else { throw BenchError(description: "unexpected full sync") }
                let (tx, apply) = recorder.last
                samples.append((seconds, apply, tx.count, tx.render()))
            }
        }
        var floors: [Double] = []
        for sample in samples where !sample.text.isEmpty { floors.append(try nftLoad(sample.text, file: file)) }
        let syncs = samples.map(\.sync)
        let applies = samples.map(\.apply)
        let operations = samples.map { Double($0.operations) }
        print(
            "one \(kind) added and removed at \(policies) policies (\(samples.count) syncs, operations p50 "
                + "\(Int(percentile(operations, 50)))): set+sync p50 \(ms(percentile(syncs, 50))) p99 "
                + "\(ms(percentile(syncs, 99))) (backend.apply p50 \(ms(percentile(applies, 50)))); nft -f p50 "
                + "\(ms(percentile(floors, 50))) p99 \(ms(percentile(floors, 99))); ratio p50 sync/nft -f "
                + ratio(percentile(syncs, 50), percentile(floors, 50)))
        results["change_\(kind)"] = samples.map {
            ["sync_s": $0.sync, "apply_s": $0.apply, "operations": Double($0.operations)]
        }
        results["change_\(kind)_nft_f_s"] = floors
    }
    return results
}

// MARK: Main

func option(_ name: String, _ arguments: [String]) -> [String] {
    arguments.indices.filter { arguments[$0] == name && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
}

let usage = """
    usage: policy-bench control [--policies 1000] [--pods 1000] [--rounds 3] [--changes 20] [--dir DIR] [--json FILE]
    """
let arguments = Array(CommandLine.arguments.dropFirst())
func int(_ name: String, _ fallback: Int) -> Int { option(name, arguments).last.flatMap { Int($0) } ?? fallback }

do {
    let result: [String: Any]
    switch arguments.first {
    case "control":
        result = try await control(
            policies: int("--policies", 1000), pods: int("--pods", 1000), rounds: int("--rounds", 3),
            changes: int("--changes", 20), workDir: option("--dir", arguments).last ?? "/tmp")
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
    if let path = option("--json", arguments).last {
        try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }
} catch {
    FileHandle.standardError.write(Data("policy-bench: \(error)\n".utf8))
    exit(1)
}
