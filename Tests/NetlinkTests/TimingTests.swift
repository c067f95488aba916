import Glibc
import Netlink
import Testing
import WeftNet

/// Runs the kernel operations the CNI plugin makes for one pod, twenty times over, and prints their medians.
/// It asserts nothing about time (benchmarks are not timed tests); the figures are there to read.
@Suite(.enabled(if: isRoot, "needs root"))
struct TimingTests {
    @Test func podSetupOperations() throws {
        let node = try TestNetNS()
        defer { node.destroy() }
        let pods = 20
        var samples: [String: [UInt64]] = [:]
        func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
            let start = nowNanoseconds()
            defer { samples[label, default: []].append(nowNanoseconds() - start) }
            return try body()
        }
        var made: [TestNetNS] = []
        defer { for p in made { p.destroy() } }
        for i in 0..<pods {
            let pod = try time("netns create") { try TestNetNS() }
            made.append(pod)
            let hostName = "wft\(i)" + randomSuffix(4)
            try time("veth add (peer into netns)") {
                try node.socket.addVeth(name: hostName, peerName: "eth0", peerNetNS: pod.ns, mtu: 1450)
            }
            let host = try time("link by name") { try node.socket.link(named: hostName) }
            try time("link up") { try node.socket.setUp(index: host!.index) }
            let podSocket = try time("socket in netns") { try RouteSocket(netns: pod.ns) }
            defer { podSocket.close() }
            let eth0 = try podSocket.link(named: "eth0")!
            try time("address add") {
                try podSocket.addAddress(index: eth0.index, prefix: IPPrefix("10.77.0.\(i + 2)/24")!)
            }
            try time("link up") { try podSocket.setUp(index: eth0.index) }
            try time("route add") {
                try podSocket.addRoute(
                    Route(
                        destination: Route.defaultDestination(.v4), gateway: IPAddress("10.77.0.1"),
                        outputIndex: eth0.index))
            }
        }
        print("Netlink timings over \(pods) pods (median / max, microseconds):")
        for (label, values) in samples.sorted(by: { $0.key < $1.key }) {
            let sorted = values.sorted()
            let median = sorted[sorted.count / 2] / 1000
            print("  \(label): \(median) / \(sorted.last! / 1000)")
        }
    }
}
