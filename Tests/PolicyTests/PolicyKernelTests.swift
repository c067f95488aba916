import Foundation
import Glibc
import KubeModel
import NFTables
import Netlink
import Testing
import WeftNet

@testable import Policy

/// Real packets through the real ruleset (root): a namespace acting as a node, with a bridge `br0` (10.78.0.1/24,
/// the pods' gateway, bridge-nf-call-iptables on as on a node) and four pod namespaces on veths (10.78.0.11–14),
/// and an "outside" namespace routed through the node (192.168.79.2 and .3). A `PolicySyncer` programs the node
/// through `nft` in it — the first sync in full, then partial syncs as the test changes policies and pods — and
/// the test probes TCP and UDP with small listeners it starts. Traffic stays in the test's namespaces; they are
/// named after this process, removed after the test and, should it be killed, by the next run.
@Suite(.serialized, .enabled(if: getuid() == 0 && policyKernelToolsPresent()))
struct PolicyKernelTests {
    static let server = """
        import socket, selectors, sys
        sel = selectors.DefaultSelector()
        for port in (80, 5000, 5001, 5002):
            t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind(("0.0.0.0", port)); t.listen(64); sel.register(t, selectors.EVENT_READ, "tcp")
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
            sel.register(u, selectors.EVENT_READ, "udp")
        print("ready", flush=True)
        while True:
            for key, _ in sel.select():
                s = key.fileobj
                if key.data == "tcp":
                    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()
                else:
                    data, addr = s.recvfrom(64); s.sendto(sys.argv[1].encode(), addr)
        """

    static let client = """
        import socket, sys
        proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        s.settimeout(float(sys.argv[5]))
        if sys.argv[4] != "-": s.bind((sys.argv[4], 0))
        try:
            if proto == "tcp":
                s.connect((host, port)); print(s.recv(64).decode() or "closed")
            else:
                s.sendto(b"ping", (host, port)); print(s.recvfrom(64)[0].decode())
        except socket.timeout: print("timeout")
        except ConnectionRefusedError: print("refused")
        """

    /// Runs blocking work (processes, probes that wait for a timeout) on a thread of its own: on the test pool's
    /// few threads it would starve every other test running meanwhile.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    @discardableResult
    static func run(_ arguments: [String], input: String? = nil) throws -> ProcessResult {
        let result = try ProcessRunner.run(
            arguments[0], arguments: Array(arguments.dropFirst()), stdin: input.map { Array($0.utf8) })
        guard result.succeeded else {
            throw NFTablesError(
                code: .commandFailed, operation: arguments.joined(separator: " "), message: result.stderrString)
        }
        return result
    }

    /// Applies transactions with `nft -f -` inside the node's namespace.
    struct NamespacedNFT: NFTablesBackend {
        var netns: String
        func apply(_ tx: Transaction) throws {
            try PolicyKernelTests.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input: tx.render())
        }
        func listTableNames(family: Family?) throws -> [(family: Family, name: String)] { [] }
        func listRules(family: Family, table: String, chain: String) throws -> [Rule] { [] }
        func listElements(family: Family, table: String, set: String) throws -> [Element] { [] }
        func listTable(family: Family, table: String) throws -> String? {
            try PolicyKernelTests.run(["ip", "netns", "exec", netns, "nft", "list", "table", "inet", table])
                .stdoutString
        }
        /// As text, in the node's namespace (the netlink path would act in this process's namespace).
        func replaceElements(of sets: [NFTSet], with elements: [Element]) throws {
            try apply(Transaction.replacingElements(of: sets, with: elements))
        }
        func tableInfo(family: Family, table: String) throws -> NFTTableInfo? { nil }
    }

    /// The namespaces, wired; `close()` removes them whatever happened. Made on a thread of its own (`offPool`),
    /// then only read: its names are constants.
    final class Network: @unchecked Sendable {
        static let prefix = "weft-test-pol"
        let node: String
        /// p1 … p4 at 10.78.0.11 … 14.
        let pods: [String]
        let outside: String
        private var servers: [Process] = []

        init() throws {
            NetNS.removeAbandoned(prefix: Self.prefix)
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            node = NetNS.ownedName(prefix: Self.prefix, "\(tag)-node")
            pods = (1...4).map { NetNS.ownedName(prefix: Self.prefix, "\(tag)-p\($0)") }
            outside = NetNS.ownedName(prefix: Self.prefix, "\(tag)-ext")
            do { try build() } catch {
                close()
                throw error
            }
        }

        static func address(_ pod: Int) -> String { "10.78.0.\(10 + pod)" }

        private func build() throws {
            let run = { (arguments: [String]) throws -> Void in _ = try PolicyKernelTests.run(arguments) }
            try run(["ip", "netns", "add", node])
            try run(["ip", "-n", node, "link", "set", "lo", "up"])
            try run(["ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            try run(["ip", "netns", "exec", node, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"])
            try run(["ip", "-n", node, "link", "add", "br0", "type", "bridge"])
            try run(["ip", "-n", node, "addr", "add", "10.78.0.1/24", "dev", "br0"])
            try run(["ip", "-n", node, "link", "set", "br0", "up"])
            for (i, pod) in pods.enumerated() {
                try run(["ip", "netns", "add", pod])
                try run([
                    "ip", "-n", node, "link", "add", "v\(i + 1)", "type", "veth", "peer", "name", "eth0", "netns", pod,
                ])
                try run(["ip", "-n", node, "link", "set", "v\(i + 1)", "master", "br0", "up"])
                try run(["ip", "-n", pod, "addr", "add", "\(Self.address(i + 1))/24", "dev", "eth0"])
                try run(["ip", "-n", pod, "link", "set", "eth0", "up"])
                try run(["ip", "-n", pod, "link", "set", "lo", "up"])
                try run(["ip", "-n", pod, "route", "add", "default", "via", "10.78.0.1"])
            }
            try run(["ip", "netns", "add", outside])
            try run([
                "ip", "-n", node, "link", "add", "ext0", "type", "veth", "peer", "name", "eth0", "netns", outside,
            ])
            try run(["ip", "-n", node, "addr", "add", "192.168.79.1/24", "dev", "ext0"])
            try run(["ip", "-n", node, "link", "set", "ext0", "up"])
            try run(["ip", "-n", outside, "addr", "add", "192.168.79.2/24", "dev", "eth0"])
            try run(["ip", "-n", outside, "addr", "add", "192.168.79.3/24", "dev", "eth0"])
            try run(["ip", "-n", outside, "link", "set", "eth0", "up"])
            try run(["ip", "-n", outside, "link", "set", "lo", "up"])
            try run(["ip", "-n", outside, "route", "add", "10.78.0.0/24", "via", "192.168.79.1"])
            for (i, pod) in pods.enumerated() {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
                process.arguments = ["netns", "exec", pod, "python3", "-c", PolicyKernelTests.server, "p\(i + 1)"]
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                servers.append(process)
                // Wait for "ready": the listeners are bound.
                let line = pipe.fileHandleForReading.availableData
                guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else {
                    throw NFTablesError(code: .commandFailed, operation: "server p\(i + 1)", message: "not ready")
                }
            }
        }

        func close() {
            for server in servers where server.isRunning { kill(server.processIdentifier, SIGKILL) }
            for server in servers { server.waitUntilExit() }
            for name in [node, outside] + pods { _ = try? PolicyKernelTests.run(["ip", "netns", "del", name]) }
        }

        /// One probe from namespace `from` (bound to `source` when given): the answering pod's name, `timeout`
        /// or `refused`.
        func probe(
            _ from: String, _ proto: String, _ host: String, _ port: Int, source: String? = nil, timeout: Double = 1
        ) async throws -> String {
            try await PolicyKernelTests.offPool {
                try PolicyKernelTests.run([
                    "ip", "netns", "exec", from, "python3", "-c", PolicyKernelTests.client, proto, host, "\(port)",
                    source ?? "-", "\(timeout)",
                ]).stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        /// Whether a connection from pod `from` (1…4) to pod `to` on `port` gets the pod's answer.
        func reaches(_ from: Int, _ to: Int, _ port: Int = 80, _ proto: String = "tcp") async throws -> Bool {
            let answer = try await probe(pods[from - 1], proto, Self.address(to), port)
            return answer == "p\(to)"
        }

        func reachesFromOutside(_ source: String, _ to: Int, _ port: Int = 80) async throws -> Bool {
            try await probe(outside, "tcp", Self.address(to), port, source: source) == "p\(to)"
        }

        func reachesFromNode(_ to: Int, _ port: Int = 80) async throws -> Bool {
            try await probe(node, "tcp", Self.address(to), port) == "p\(to)"
        }
    }

    // MARK: Objects

    static func pod(_ n: Int, namespace: String, labels: [String: String]) -> Pod {
        var pod = Pod(
            metadata: ObjectMeta(name: "p\(n)", namespace: namespace, labels: labels),
            spec: PodSpec(containers: [Container(name: "c")], nodeName: "node"))
        pod.status = PodStatus()
        pod.status?.phase = "Running"
        pod.status?.podIPs = [PodIP(ip: Network.address(n))]
        return pod
    }

    /// p1 (web) and p2 (client) in namespace a, p3 (other) in b; p4 (in b) is known to the syncer only when a
    /// test adds it.
    static let pods = [
        pod(1, namespace: "a", labels: ["app": "web"]), pod(2, namespace: "a", labels: ["app": "client"]),
        pod(3, namespace: "b", labels: ["app": "other"]),
    ]
    static let p4 = pod(4, namespace: "b", labels: ["app": "other"])

    static let node = PolicyNode(
        name: "node", addresses: [IPAddress("10.78.0.1")!, IPAddress("192.168.79.1")!],
        podCIDRs: [IPPrefix("10.78.0.0/24")!])

    static func syncer(_ network: Network) async -> PolicySyncer {
        let syncer = PolicySyncer(node: node, backend: NamespacedNFT(netns: network.node))
        for name in ["a", "b"] { await syncer.set(Namespace(metadata: ObjectMeta(name: name, labels: ["ns": name]))) }
        for pod in pods { await syncer.set(pod) }
        return syncer
    }

    // MARK: Tests

    /// The cases one after another on one network, each reached by a partial sync from the one before.
    @Test func policiesOnRealTraffic() async throws {
        let network = try await Self.offPool { try Network() }
        defer { network.close() }
        let syncer = await Self.syncer(network)
        let first = try await syncer.sync()
        #expect(first.full)

        // No policies: everything flows, pods of the node (bridged) and from outside (routed).
        #expect(try await network.reaches(2, 1))
        #expect(try await network.reaches(3, 1, 80, "udp"))
        #expect(try await network.reachesFromOutside("192.168.79.3", 1))
        // An address of the pod CIDR that is no known pod (p4, not yet told to the syncer) is dropped both ways.
        #expect(try await network.probe(network.pods[3], "tcp", Network.address(1), 80) == "timeout")
        #expect(try await !network.reaches(1, 4))

        // p4 becomes known: its elements only, and it talks at once.
        await syncer.set(Self.p4)
        let joined = try await syncer.sync()
        #expect(!joined.full && joined.operations == 1, "its local-pods element (no policy selects it yet)")
        #expect(try await network.reaches(4, 1))
        #expect(try await network.reaches(1, 4))

        // Default-deny ingress in a: nothing reaches p1 or p2 — but the node itself does, and p1 still reaches
        // others (their replies come back).
        let denyIngress = networkPolicy("a", "deny-ingress", types: ["Ingress"])
        await syncer.set(denyIngress)
        #expect(try await !syncer.sync().full)
        #expect(try await !network.reaches(2, 1))
        #expect(try await !network.reaches(3, 1))
        #expect(try await !network.reaches(3, 1, 80, "udp"))
        #expect(try await !network.reachesFromOutside("192.168.79.2", 1))
        #expect(try await network.reachesFromNode(1))
        #expect(try await network.reaches(1, 3))
        #expect(try await network.reaches(1, 3, 80, "udp"))
        let table = try #require(try NamespacedNFT(netns: network.node).listTable(family: .inet, table: "weft-policy"))
        let counted =
            #"counter packets [1-9][0-9]* bytes [0-9]+ log prefix "weft-policy DROP ingress np:a/deny-ingress " group 1 drop"#
        #expect(
            table.range(of: counted, options: .regularExpression) != nil,
            "denials counted and logged to nflog group 1:\n\(table)")

        // Allow by pod selector: the client of a reaches the web pod on every port and protocol; b does not.
        let allowClient = networkPolicy(
            "a", "allow-client", select: labels(["app": "web"]),
            ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: labels(["app": "client"]))])])
        await syncer.set(allowClient)
        #expect(try await !syncer.sync().full)
        #expect(try await network.reaches(2, 1))
        #expect(try await network.reaches(2, 1, 5002, "udp"))
        #expect(try await !network.reaches(3, 1))
        #expect(try await !network.reaches(1, 2), "p2 is still isolated by deny-ingress")

        // ipBlock with except: 192.168.79.0/24 without .3.
        let allowBlock = networkPolicy(
            "a", "allow-block", select: labels(["app": "web"]),
            ingress: [
                NetworkPolicyIngressRule(from: [
                    NetworkPolicyPeer(ipBlock: IPBlock(cidr: "192.168.79.0/24", except: ["192.168.79.3/32"]))
                ])
            ])
        await syncer.set(allowBlock)
        try await syncer.sync()
        #expect(try await network.reachesFromOutside("192.168.79.2", 1))
        #expect(try await !network.reachesFromOutside("192.168.79.3", 1))

        // A port range: TCP 5000–5001 from anywhere; not 5002, not 80 (for b), not UDP.
        let range = networkPolicy(
            "a", "range", select: labels(["app": "web"]),
            ingress: [NetworkPolicyIngressRule(from: nil, ports: [tcp(5000, endPort: 5001)])])
        await syncer.set(range)
        try await syncer.sync()
        #expect(try await network.reaches(3, 1, 5000))
        #expect(try await network.reaches(3, 1, 5001))
        #expect(try await !network.reaches(3, 1, 5002))
        #expect(try await !network.reaches(3, 1, 80))
        #expect(try await !network.reaches(3, 1, 5000, "udp"))
        #expect(try await network.reachesFromOutside("192.168.79.3", 1, 5001))

        // Egress deny in b: p3 reaches nobody, not even outside; connections to p3 still get their replies.
        for policy in [denyIngress, allowClient, allowBlock, range] { await syncer.remove(policy) }
        await syncer.set(networkPolicy("b", "deny-egress", types: ["Egress"]))
        try await syncer.sync()
        #expect(try await !network.reaches(3, 1))
        #expect(try await !network.reaches(3, 1, 80, "udp"))
        #expect(try await network.probe(network.pods[2], "tcp", "192.168.79.2", 22) == "timeout")
        #expect(try await network.reaches(1, 3))
        #expect(try await network.reaches(1, 3, 5000, "udp"))
        #expect(try await network.reaches(2, 1))

        // An AdminNetworkPolicy's Deny beats a NetworkPolicy's Allow.
        await syncer.remove(networkPolicy("b", "deny-egress", types: ["Egress"]))
        await syncer.set(networkPolicy("a", "allow-all", ingress: [NetworkPolicyIngressRule()]))
        await syncer.set(
            adminPolicy(
                "deny-b", priority: 10, subject: AdminNetworkPolicySubject(namespaces: labels(["ns": "a"])),
                ingress: [
                    AdminNetworkPolicyRule(
                        name: "no-b", action: "Deny", from: [AdminNetworkPolicyPeer(namespaces: labels(["ns": "b"]))])
                ]))
        let admin = try await syncer.sync()
        #expect(!admin.full && admin.policies.adminNetworkPolicies == 1)
        #expect(try await !network.reaches(3, 1))
        #expect(try await !network.reaches(4, 2, 5000, "udp"))
        #expect(try await network.reaches(2, 1))
        #expect(try await network.reachesFromOutside("192.168.79.3", 1))

        // p4 goes: its elements go, and its address is an unknown pod again.
        await syncer.remove(Self.p4)
        let gone = try await syncer.sync()
        #expect(!gone.full)
        #expect(try await !network.reaches(1, 4))
    }

    /// A full sync over an existing table (the agent restarting) replaces it in one transaction.
    @Test func fullSyncReplacesAnExistingTable() async throws {
        let network = try await Self.offPool { try Network() }
        defer { network.close() }
        let first = await Self.syncer(network)
        await first.set(networkPolicy("a", "deny-ingress", types: ["Ingress"]))
        try await first.sync()
        #expect(try await !network.reaches(2, 1))
        let second = await Self.syncer(network)
        #expect(try await second.sync().full)
        #expect(try await network.reaches(2, 1))
    }
}

/// nft, python3 and ip, which the kernel tests run.
func policyKernelToolsPresent() -> Bool {
    let tools: [String] = ["/usr/sbin/nft", "/usr/bin/python3", "/usr/sbin/ip"]
    return tools.allSatisfy { access($0, X_OK) == 0 }
}
