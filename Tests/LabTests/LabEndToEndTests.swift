import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import NFTables
import Netlink
import Testing
import WeftNet

extension LabKernelTests {
    /// `weft lab up` with 3 nodes for both overlays and every address family: real processes in pods on every node
    /// reach each other over TCP and UDP, a pod's two containers talk over localhost, a hostNetwork pod answers on
    /// its node's address, and `down` leaves nothing.
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabEndToEndTests {
        /// One `weft serve` pod per node, a two-container pod whose second container is Ready only while it
        /// reaches the first on 127.0.0.1, and a hostNetwork server on node-2.
        static let manifest = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web-1, labels: {app: web}}
            spec: {nodeName: node-1, containers: [{name: web, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-2, labels: {app: web}}
            spec: {nodeName: node-2, containers: [{name: web, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-3, labels: {app: web}}
            spec: {nodeName: node-3, containers: [{name: web, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: duo}
            spec:
              nodeName: node-1
              containers:
              - {name: server, image: agnhost, command: [weft, serve, --http-port, "9000", --udp-port, "-1"]}
              - name: client
                image: agnhost
                command: [weft, serve, --http-port, "9001", --udp-port, "-1"]
                readinessProbe:
                  exec: {command: [weft, probe, --protocol, http, "127.0.0.1:9000"]}
                  periodSeconds: 1
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: hostnet}
            spec:
              nodeName: node-2
              hostNetwork: true
              containers:
              - name: web
                image: agnhost
                command: [weft, serve, --http-port, "8090", --udp-port, "8091"]
                ports: [{containerPort: 8090}]
                readinessProbe: {tcpSocket: {port: 8090}, periodSeconds: 1}
            """

        static let configurations: [(String, String)] = [
            ("vxlan", "dual"), ("host-gw", "dual"), ("vxlan", "ipv4"), ("host-gw", "ipv4"), ("vxlan", "ipv6"),
            ("host-gw", "ipv6"),
        ]

        @Test(arguments: configurations)
        func podsOnEveryNodeReachEachOther(overlay: String, family: String) async throws {
            try await LabUnderTest.with(
                ["--nodes", "3", "--overlay", overlay, "--ip-family", family], manifest: Self.manifest
            ) { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                var addresses: [String: [String]] = [:]
                for name in ["web-1", "web-2", "web-3"] {
                    let pod = try await client.get(Pod.self, name: name, namespace: "default")
                    let ips = (pod.status?.podIPs ?? []).map(\.ip)
                    #expect(ips.count == (family == "dual" ? 2 : 1), "\(name): \(ips)")
                    #expect(
                        ips.allSatisfy { (IPAddress($0)?.isIPv4 ?? false) == (family != "ipv6") || family == "dual" })
                    addresses[name] = ips
                }
                for source in ["web-1", "web-2", "web-3"] {
                    for target in ["web-1", "web-2", "web-3"] where target != source {
                        for ip in addresses[target] ?? [] {
                            let host = ip.contains(":") ? "[\(ip)]" : ip
                            let http = try await lab.exec([
                                source, "--", "weft", "probe", "--timeout", "5s", "--protocol", "http", "\(host):8080",
                            ])
                            #expect(
                                http.exitStatus == 0 && http.stdoutString.contains(target),
                                "\(source) → \(target) \(ip) http: \(http.stdoutString) \(http.stderrString)")
                            let udp = try await lab.exec([
                                source, "--", "weft", "probe", "--timeout", "5s", "--protocol", "udp", "\(host):8081",
                            ])
                            #expect(
                                udp.exitStatus == 0 && udp.stdoutString.contains(target),
                                "\(source) → \(target) \(ip) udp: \(udp.stdoutString) \(udp.stderrString)")
                        }
                    }
                }
                // Cross-node traffic keeps the pod's source address (no masquerade inside the cluster).
                if let first = addresses["web-2"]?.first, let source = addresses["web-1"]?.first {
                    let host = first.contains(":") ? "[\(first)]" : first
                    let seen = try await lab.exec([
                        "web-1", "--", "weft", "probe", "--timeout", "5s", "--protocol", "http", "--path", "/clientip",
                        "\(host):8080",
                    ])
                    #expect(
                        seen.stdoutString.hasPrefix(source.contains(":") ? "[\(source)]" : source),
                        "\(seen.stdoutString)")
                }

                // The two containers of `duo` share the pod's namespace: its client container became Ready
                // through 127.0.0.1 (up waited for it).
                let duo = try await client.get(Pod.self, name: "duo", namespace: "default")
                #expect(duo.isReady)

                // The hostNetwork pod has its node's addresses and answers there, also from outside the cluster.
                let spec = try lab.spec
                let node2 = spec.topology.node(2)
                let hostnet = try await client.get(Pod.self, name: "hostnet", namespace: "default")
                let nodeIPs = spec.addresses(of: node2).map(\.description)
                #expect((hostnet.status?.podIPs ?? []).map(\.ip) == nodeIPs)
                for ip in nodeIPs {
                    let host = ip.contains(":") ? "[\(ip)]" : ip
                    let answer = try await lab.exec([
                        "--host", "client", "--", "weft", "probe", "--timeout", "5s", "--protocol", "http",
                        "\(host):8090",
                    ])
                    #expect(answer.exitStatus == 0 && answer.stdoutString.contains("node-2"), "\(answer.stdoutString)")
                }
            }
        }

        /// kubectl shows pods with IP and node; deleting a pod removes its namespace and releases its address;
        /// removing a node removes the routes to it from the others; `down` leaves no process of the lab.
        @Test func podAndNodeLifecycle() async throws {
            let duoPID = try await LabUnderTest.with(["--nodes", "3"], manifest: Self.manifest) { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                let spec = try lab.spec
                let paths = LabPaths(spec.topology)

                if FileManager.default.isExecutableFile(atPath: LabUnderTest.kubectl) {
                    let wide = try await lab.kubectl(["get", "pods", "-o", "wide"])
                    #expect(wide.exitStatus == 0, "\(wide.stderrString)")
                    for name in ["web-1", "web-2", "web-3"] {
                        let pod = try await client.get(Pod.self, name: name, namespace: "default")
                        let line = wide.stdoutString.split(separator: "\n").first { $0.hasPrefix(name + " ") } ?? ""
                        #expect(
                            line.contains(pod.status?.podIP ?? "?") && line.contains(pod.spec?.nodeName ?? "?"),
                            "\(line)")
                    }
                }

                let web1 = try await client.get(Pod.self, name: "web-1", namespace: "default")
                let uid = try #require(web1.metadata.uid)
                let ip = try #require(web1.status?.podIP)
                let namespace = NetNS.namedDirectory + "/" + paths.podNamespace(uid: uid)
                let reservation = paths.ipamDirectory(spec.topology.node(1)) + "/weft/" + ip
                #expect(FileManager.default.fileExists(atPath: namespace))
                #expect(FileManager.default.fileExists(atPath: reservation))
                let pid = try #require(Self.containerPID(web1))
                try await client.delete(Resources.pod, name: "web-1", namespace: "default")
                let condition1 = await LabUnderTest.eventually { () async -> Bool in
                    let pod = try? await client.get(Pod.self, name: "web-1", namespace: "default")
                    return pod == nil && !FileManager.default.fileExists(atPath: namespace)
                        && !FileManager.default.fileExists(atPath: reservation)
                }
                #expect(condition1)
                #expect(kill(pid, 0) != 0, "the container process \(pid) survived its pod")

                // node-3 leaves: the others' routes to its pod CIDRs go.
                let node3 = try await client.get(Node.self, name: "node-3")
                let cidrs = try #require(node3.spec?.podCIDRs)
                let removed = try await LabUnderTest.weft(["lab", "node", "remove", "--name", lab.name, "node-3"])
                #expect(removed.succeeded, "\(removed.stderrString)")
                let condition2 = await LabUnderTest.eventually { () async -> Bool in
                    let routes = (try? Self.routes(in: spec.topology.node(1).namespace)) ?? ["?"]
                    return !routes.contains { route in
                        cidrs.contains { route.hasPrefix($0.components(separatedBy: "/")[0]) }
                    }
                }
                #expect(condition2)
                #expect((try? await client.get(Pod.self, name: "web-3", namespace: "default")) == nil)

                // And back: node-3 joins again and is routed to.
                let added = try await LabUnderTest.weft(["lab", "node", "add", "--name", lab.name, "node-3"])
                #expect(added.succeeded, "\(added.stderrString)")
                let again = try await client.get(Node.self, name: "node-3")
                let newCIDR = try #require(again.spec?.podCIDRs?.first)
                let condition3 = await LabUnderTest.eventually { () async -> Bool in
                    let routes = (try? Self.routes(in: spec.topology.node(1).namespace)) ?? []
                    return routes.contains { $0.hasPrefix(newCIDR) }
                }
                #expect(condition3)

                let duo = try await client.get(Pod.self, name: "duo", namespace: "default")
                return try #require(Self.containerPID(duo))
            }
            #expect(kill(duoPID, 0) != 0, "a container process survived `down`")
        }

        /// The `weft://PID` of a pod's first container.
        static func containerPID(_ pod: Pod) -> Int32? {
            let id = pod.status?.containerStatuses?.first?["containerID"]?.stringValue ?? ""
            return Int32(id.replacingOccurrences(of: "weft://", with: ""))
        }

        /// `ip route` and `ip -6 route` lines in a namespace.
        static func routes(in namespace: String) throws -> [String] {
            var lines: [String] = []
            for family in ["-4", "-6"] {
                let result = try ProcessRunner.run("ip", arguments: [family, "-n", namespace, "route"])
                lines += result.stdoutString.split(separator: "\n").map(String.init)
            }
            return lines
        }
    }
}
