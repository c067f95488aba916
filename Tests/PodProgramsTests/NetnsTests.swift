import Foundation
import Glibc
import Testing

/// `weft serve` and `weft probe` in two network namespaces of the test's own, a server and a client joined by a
/// veth pair, with nftables rules (in the server's namespace only) that drop or reject: root only, one at a time. No
/// packet leaves the two namespaces: their only interfaces are `lo` and the two ends of the veth.
@Suite(.serialized, .enabled(if: getuid() == 0 && access("/usr/sbin/nft", X_OK) == 0, "needs root and nft"))
struct NetnsTests {
    /// Namespaces `weft-pp<random>-s` (10.250.0.1/24, fd00:250::1/64) and `weft-pp<random>-c` (10.250.0.2/24,
    /// fd00:250::2/64) joined by a veth; `delete()` removes both with everything in them (links, nft table, sockets).
    final class Namespaces {
        private let tag = "weft-pp" + String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        var server: String { tag + "-s" }
        var client: String { tag + "-c" }

        init() throws {
            let setup = [
                "ip netns add \(server)", "ip netns add \(client)",
                "ip -n \(server) link add wfppa type veth peer name wfppb netns \(client)",
                "ip -n \(server) addr add 10.250.0.1/24 dev wfppa",
                "ip -n \(server) addr add fd00:250::1/64 dev wfppa nodad",
                "ip -n \(client) addr add 10.250.0.2/24 dev wfppb",
                "ip -n \(client) addr add fd00:250::2/64 dev wfppb nodad",
                "ip -n \(server) link set lo up", "ip -n \(server) link set wfppa up",
                "ip -n \(client) link set lo up", "ip -n \(client) link set wfppb up",
            ]
            for command in setup {
                let (status, output) = Self.sh(command)
                guard status == 0 else {
                    delete()
                    throw TestSockets.Failure("\(command): \(output)", 0)
                }
            }
        }

        /// Runs `command` with /bin/sh; returns the exit status and stdout+stderr.
        @discardableResult
        static func sh(_ command: String, stdin: String = "") -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command + " 2>&1"]
            let output = Pipe()
            let input = Pipe()
            process.standardOutput = output
            process.standardInput = input
            guard (try? process.run()) != nil else { return (-1, "cannot run /bin/sh") }
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try? input.fileHandleForWriting.close()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }

        func delete() {
            Self.sh("ip netns del \(server) 2>/dev/null")
            Self.sh("ip netns del \(client) 2>/dev/null")
        }

        deinit { delete() }
    }

    @Test func servesEveryAddressAndProbeTellsRejectionFromTimeout() throws {
        let ns = try Namespaces()
        defer { ns.delete() }
        let server = try CommandTests.Server(podName: "ns-pod", netns: ns.server)
        defer { server.kill() }

        for host in ["10.250.0.1", "[fd00:250::1]"] {
            let http = try CommandTests.run(
                ["probe", "--protocol", "http", "\(host):\(server.httpPort)"], netns: ns.client)
            #expect(http.status == 0 && http.stdout == "ns-pod\n", "\(host): \(http)")
            let udp = try CommandTests.run(
                ["probe", "--protocol", "udp", "\(host):\(server.udpPort)"], netns: ns.client)
            #expect(udp.status == 0 && udp.stdout == "ns-pod\n", "\(host): \(udp)")
            let clientIP = try CommandTests.run(
                ["probe", "--protocol", "http", "--path", "/clientip", "\(host):\(server.httpPort)"], netns: ns.client)
            let clientHost = host.hasPrefix("[") ? "[fd00:250::2]:" : "10.250.0.2:"
            #expect(clientIP.status == 0 && clientIP.stdout.hasPrefix(clientHost), "\(host): \(clientIP)")
            let closed = try CommandTests.run(["probe", "\(host):9"], netns: ns.client)
            #expect(closed.status == 1, "\(host): \(closed)")
        }

        let rules = """
            table inet weft-probe-test {
                chain input {
                    type filter hook input priority 0; policy accept;
                    tcp dport 9 drop
                    tcp dport 10 reject with icmpx admin-prohibited
                    udp dport 11 drop
                }
            }
            """
        let (status, output) = Namespaces.sh("ip netns exec \(ns.server) nft -f -", stdin: rules)
        try #require(status == 0, "\(output)")

        for host in ["10.250.0.1", "[fd00:250::1]"] {
            let dropped = try CommandTests.run(["probe", "--timeout", "300ms", "\(host):9"], netns: ns.client)
            #expect(dropped.status == 2 && dropped.stderr.hasPrefix("TIMEOUT"), "\(host): \(dropped)")
            let rejected = try CommandTests.run(["probe", "--protocol", "http", "\(host):10"], netns: ns.client)
            #expect(rejected.status == 1 && rejected.stderr.hasPrefix("REFUSED"), "\(host): \(rejected)")
            let udpDropped = try CommandTests.run(
                ["probe", "--protocol", "udp", "--timeout", "300ms", "\(host):11"], netns: ns.client)
            #expect(udpDropped.status == 2, "\(host): \(udpDropped)")
            let udpClosed = try CommandTests.run(["probe", "--protocol", "udp", "\(host):12"], netns: ns.client)
            #expect(udpClosed.status == 1, "\(host): \(udpClosed)")
        }
        #expect(server.stop() == 0)
    }
}
