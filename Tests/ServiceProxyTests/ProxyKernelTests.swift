import Foundation
import Glibc
import NFTables
import Testing
import WeftNet

@testable import ServiceProxy

/// Real packets through the proxy's ruleset (root): a node namespace with the ruleset and three pod namespaces
/// on veths; a client in the node connects to the cluster IP. Traffic stays in the test's namespaces.
@Suite(.serialized, .enabled(if: getuid() == 0))
struct ProxyKernelTests {
    static let server = """
        import socket, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 8080)); s.listen(64)
        while True:
            c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()
        """

    static let client = """
        import socket, sys, time, collections
        target, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        seen = collections.Counter()
        for _ in range(n):
            c = socket.socket(); c.settimeout(2); start = time.monotonic()
            try:
                c.connect((target, port)); seen[c.recv(64).decode()] += 1
            except ConnectionRefusedError:
                seen["refused-%.0fms" % ((time.monotonic() - start) * 1000)] += 1
            except socket.timeout:
                seen["timeout"] += 1
            c.close()
        print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
        """

    static func run(_ arguments: [String], input: String? = nil) throws -> ProcessResult {
        try ProcessRunner.run(
            arguments[0], arguments: Array(arguments.dropFirst()), stdin: input.map { Array($0.utf8) })
    }

    @Test func clusterIPSpreadsRejectsAndKeepsOtherPortsOut() throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let node = "weft-test-px-\(tag)"
        let pods = (1...3).map { "weft-test-px-\(tag)-\($0)" }
        var servers: [Int32] = []
        defer {
            for pid in servers { kill(pid, SIGKILL) }
            for name in [node] + pods { _ = try? Self.run(["ip", "netns", "del", name]) }
        }
        _ = try Self.run(["ip", "netns", "add", node])
        _ = try Self.run(["ip", "-n", node, "link", "set", "lo", "up"])
        for (i, pod) in pods.enumerated() {
            _ = try Self.run(["ip", "netns", "add", pod])
            _ = try Self.run([
                "ip", "-n", node, "link", "add", "p\(i)", "type", "veth", "peer", "name", "eth0", "netns", pod,
            ])
            _ = try Self.run(["ip", "-n", node, "addr", "add", "10.77.\(i).1/24", "dev", "p\(i)"])
            _ = try Self.run(["ip", "-n", node, "link", "set", "p\(i)", "up"])
            _ = try Self.run(["ip", "-n", pod, "addr", "add", "10.77.\(i).2/24", "dev", "eth0"])
            _ = try Self.run(["ip", "-n", pod, "link", "set", "eth0", "up"])
            _ = try Self.run(["ip", "-n", pod, "link", "set", "lo", "up"])
            _ = try Self.run(["ip", "-n", pod, "route", "add", "default", "via", "10.77.\(i).1"])
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", pod, "python3", "-c", Self.server, "pod\(i + 1)"]
            try process.run()
            servers.append(process.processIdentifier)
        }

        // Locally sent packets are routed before the nat hook translates them: the node needs a route for the
        // service range (real nodes have a default route).
        _ = try Self.run(["ip", "-n", node, "route", "add", "10.96.0.0/16", "via", "10.77.0.2"])
        let endpoints = (0..<3).map { ServiceEndpoint(address: IPAddress("10.77.\($0).2")!, port: 8080) }
        var web = ServicePortPlan(
            key: ServicePortKey(namespace: "n", name: "web", port: "", protocol: .tcp, family: .v4),
            clusterIP: IPAddress("10.96.0.20")!, port: 80)
        web.endpoints = endpoints
        let empty = ServicePortPlan(
            key: ServicePortKey(namespace: "n", name: "empty", port: "", protocol: .tcp, family: .v4),
            clusterIP: IPAddress("10.96.0.21")!, port: 80)
        let ruleset = ProxyRuleset(clusterCIDRs: [IPPrefix("10.77.0.0/16")!])
        let load = try Self.run(
            ["ip", "netns", "exec", node, "nft", "-f", "-"],
            input: ruleset.fullSync([web, empty], node: ProxyNode(name: "node")).render())
        try #require(load.succeeded, "\(load.stderrString)")
        usleep(300_000)  // the servers bind

        func connect(_ target: String, _ port: Int, _ count: Int) throws -> [String: Int] {
            let out = try Self.run([
                "ip", "netns", "exec", node, "python3", "-c", Self.client, target, "\(port)", "\(count)",
            ])
            #expect(out.succeeded, "\(out.stderrString)")
            var counts: [String: Int] = [:]
            for pair in out.stdoutString.split(separator: " ") {
                let parts = pair.split(separator: "=")
                if parts.count == 2 {
                    counts[String(parts[0]).trimmingCharacters(in: .whitespacesAndNewlines)] = Int(
                        parts[1].trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            return counts
        }
        // 300 connections over 3 endpoints: each gets at least 15 %.
        let spread = try connect("10.96.0.20", 80, 300)
        #expect(spread.keys.sorted() == ["pod1", "pod2", "pod3"], "\(spread)")
        #expect(spread.values.allSatisfy { $0 >= 45 }, "\(spread)")
        // A partial sync: one endpoint removed changes only this service's elements; it stops getting traffic.
        var state = ProxyElementState()
        let proxyNode = ProxyNode(name: "node")
        _ = state.replace(service: "n/web", with: ruleset.elements([web], node: proxyNode))
        _ = state.replace(service: "n/empty", with: ruleset.elements([empty], node: proxyNode))
        var smaller = web
        smaller.endpoints.removeLast()
        let partial = state.replace(service: "n/web", with: ruleset.elements([smaller], node: proxyNode))
        #expect(partial.count < 40, "a partial sync, not the whole table (\(partial.count) operations)")
        let applied = try Self.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input: partial.render())
        try #require(applied.succeeded, "\(applied.stderrString)")
        let after = try connect("10.96.0.20", 80, 100)
        #expect(after.keys.sorted() == ["pod1", "pod2"], "\(after)")

        // No endpoints: refused at once; a port the service does not define: refused too.
        for (target, port) in [("10.96.0.21", 80), ("10.96.0.20", 81)] {
            let refused = try connect(target, port, 3)
            let fast = refused.keys.allSatisfy {
                $0.hasPrefix("refused-") && (Int($0.dropFirst(8).dropLast(2)) ?? 1000) < 100
            }
            #expect(fast && refused.values.reduce(0, +) == 3, "\(target):\(port) → \(refused)")
        }
    }
}
