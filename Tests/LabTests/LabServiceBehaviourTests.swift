import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import Testing
import WeftNet

extension LabKernelTests {
    /// The service proxy's behaviours with real traffic in a two-node lab: spread, an undefined port refused, a
    /// port changed through `kubectl apply`, session affinity sticking and expiring, externalTrafficPolicy Local
    /// (client address kept, local endpoints only, the health-check port), a load-balancer IP with and without
    /// the client in its loadBalancerSourceRanges, hairpin and the pod's own source
    /// address, an endpoint removed stops getting traffic within a second, and a UDP client keeps getting answers
    /// across a backend replacement (its stale conntrack entry deleted).
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabServiceBehaviourTests {
        static let manifest = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: sticky}
            spec:
              selector: {app: web}
              sessionAffinity: ClientIP
              sessionAffinityConfig: {clientIP: {timeoutSeconds: 2}}
              ports: [{port: 80, targetPort: 8080}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: solo, labels: {app: solo}}
            spec: {nodeName: node-1, containers: [{name: solo, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: solo}
            spec:
              type: LoadBalancer
              externalTrafficPolicy: Local
              selector: {app: solo}
              ports: [{port: 80, targetPort: 8080}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: dns}
            spec:
              replicas: 1
              selector: {matchLabels: {app: dns}}
              template:
                metadata: {labels: {app: dns}}
                spec: {containers: [{name: dns, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: dns}
            spec: {selector: {app: dns}, ports: [{port: 53, targetPort: 8081, protocol: UDP}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-1}
            spec: {nodeName: node-1, containers: [{name: c, image: busybox, command: [sleep, "3600"]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client-2}
            spec: {nodeName: node-2, containers: [{name: c, image: busybox, command: [sleep, "3600"]}]}
            """

        /// HTTP GETs of PATH to TARGET:PORT, one connection each. `count N`: prints a JSON summary (answers by
        /// body, refusals with the slowest, timeouts); `watch SECONDS`: prints "WALLCLOCK BODY" per request.
        static let httpClient = """
            import socket, sys, time, json, collections
            target, port, path, mode, amount = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
            answers, refused, slowest, timeouts = collections.Counter(), 0, 0.0, 0
            def get():
                c = socket.create_connection((target, port), timeout=2)
                c.sendall(("GET %s HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n" % path).encode())
                data = b""
                while True:
                    chunk = c.recv(4096)
                    if not chunk: break
                    data += chunk
                c.close()
                return data.split(b"\\r\\n\\r\\n", 1)[-1].decode().strip()
            end, n = time.time() + amount, 0
            while (mode == "count" and n < amount) or (mode == "watch" and time.time() < end):
                n += 1
                start = time.monotonic()
                try:
                    body = get()
                    answers[body] += 1
                except ConnectionRefusedError:
                    body = "refused"; refused += 1; slowest = max(slowest, time.monotonic() - start)
                except OSError:
                    body = "timeout"; timeouts += 1
                if mode == "watch": print("%.3f %s" % (time.time(), body), flush=True)
            if mode == "count":
                print(json.dumps({"answers": answers, "refused": refused, "slowestRefusalMs": slowest * 1000, "timeouts": timeouts}))
            """

        /// Sends "hostname" to TARGET:PORT over UDP every 100 ms for SECONDS from one fixed source port (one
        /// conntrack entry), printing "WALLCLOCK ANSWER" ("-" when none came within 200 ms).
        static let udpClient = """
            import socket, sys, time
            target, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 40053)); s.settimeout(0.2)
            end = time.time() + seconds
            while time.time() < end:
                try:
                    s.sendto(b"hostname\\n", (target, port)); data, _ = s.recvfrom(512)
                    print("%.3f %s" % (time.time(), data.decode().strip()), flush=True)
                except OSError:
                    print("%.3f -" % time.time(), flush=True)
                time.sleep(0.1)
            """

        struct Count: Decodable {
            var answers: [String: Int]
            var refused: Int
            var slowestRefusalMs: Double
            var timeouts: Int
        }

        static func count(
            _ lab: LabUnderTest, from pod: String, _ target: String, _ port: Int, _ n: Int, path: String = "/hostname"
        ) async throws -> Count {
            let run = try await lab.exec([
                pod, "--", "python3", "-c", httpClient, target, "\(port)", path, "count", "\(n)",
            ])
            let decoded = try? JSONDecoder().decode(Count.self, from: Data(run.stdoutString.utf8))
            return try #require(decoded, "\(pod) → \(target):\(port): \(run.stdoutString) \(run.stderrString)")
        }

        /// "WALLCLOCK VALUE" lines as pairs.
        static func timeline(_ output: String) -> [(time: Double, value: String)] {
            output.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let time = Double(parts[0]) else { return nil }
                return (time, String(parts[1]))
            }
        }

        @Test func proxyBehavioursWithRealTraffic() async throws {
            try #require(FileManager.default.isExecutableFile(atPath: LabUnderTest.kubectl), "kubectl is needed")
            try await LabUnderTest.with(["--nodes", "2", "--ip-family", "ipv4"], manifest: Self.manifest) { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                func clusterIP(_ name: String) async throws -> String {
                    try #require(try await client.get(Service.self, name: name, namespace: "default").spec?.clusterIP)
                }
                let web = try await clusterIP("web")

                // 300 connections over 3 endpoints: each gets at least 15 %.
                let spread = try await Self.count(lab, from: "client-1", web, 80, 300)
                #expect(spread.answers.count == 3 && spread.answers.values.allSatisfy { $0 >= 45 }, "\(spread)")

                // A port the service does not define: refused at once.
                let undefined = try await Self.count(lab, from: "client-1", web, 9999, 3)
                #expect(undefined.refused == 3 && undefined.slowestRefusalMs < 100, "\(undefined)")

                // The port changed with kubectl apply: the new one answers, the old one is refused.
                let changed = "/tmp/weft-labtest-\(lab.name)-web.yaml"
                try """
                apiVersion: v1
                kind: Service
                metadata: {name: web}
                spec: {selector: {app: web}, ports: [{name: http, port: 8000, targetPort: 8080}]}
                """.write(toFile: changed, atomically: true, encoding: .utf8)
                defer { unlink(changed) }
                let apply = try await lab.kubectl(["apply", "-f", changed])
                #expect(apply.succeeded, "\(apply.stdoutString) \(apply.stderrString)")
                let moved = try await LabUnderTest.eventually(.seconds(5)) {
                    let new = try await Self.count(lab, from: "client-1", web, 8000, 1)
                    let old = try await Self.count(lab, from: "client-1", web, 80, 1)
                    return new.answers.count == 1 && old.refused == 1
                }
                #expect(moved, "port 8000 answers and 80 is refused after kubectl apply")

                // Session affinity: one client sticks to one endpoint; after the 2 s timeout it picks afresh.
                let sticky = try await clusterIP("sticky")
                let stuck = try await Self.count(lab, from: "client-1", sticky, 80, 20)
                #expect(stuck.answers.count == 1 && stuck.answers.values.first == 20, "\(stuck)")
                var picks = Set(stuck.answers.keys)
                for _ in 0..<8 where picks.count < 2 {
                    try await Task.sleep(for: .milliseconds(2600))
                    picks.formUnion(try await Self.count(lab, from: "client-1", sticky, 80, 1).answers.keys)
                }
                #expect(picks.count >= 2, "after the timeout the client lands elsewhere too: \(picks)")

                // Hairpin: solo reaches itself through its service; a pod's source address reaches the backend.
                let solo = try await clusterIP("solo")
                let hairpin = try await Self.count(lab, from: "solo", solo, 80, 3)
                #expect(hairpin.answers == ["solo": 3], "\(hairpin)")
                let client1 = try await client.get(Pod.self, name: "client-1", namespace: "default")
                let clientIP = try #require(client1.status?.podIP)
                let seen = try await Self.count(lab, from: "client-1", solo, 80, 1, path: "/clientip")
                #expect(seen.answers.keys.first?.hasPrefix(clientIP + ":") == true, "\(seen) vs \(clientIP)")

                // externalTrafficPolicy Local through the NodePort from the external client: node-1 (which has
                // the endpoint) answers with the client's own address; node-2 drops the connection.
                let soloService = try await client.get(Service.self, name: "solo", namespace: "default")
                let nodePort = try #require(soloService.spec?.ports?.first?.nodePort)
                let spec = try lab.spec
                let node1 = spec.hosts[0].addresses.v4
                let node2 = spec.hosts[1].addresses.v4
                let external = spec.topology.client.addresses.v4
                let local = try await lab.exec([
                    "--host", "client", "--", "python3", "-c", Self.httpClient, "\(node1)", "\(nodePort)", "/clientip",
                    "count", "1",
                ])
                #expect(local.stdoutString.contains("\"\(external):"), "client address kept: \(local.stdoutString)")
                let remote = try await lab.exec([
                    "--host", "client", "--", "python3", "-c", Self.httpClient, "\(node2)", "\(nodePort)", "/clientip",
                    "count", "1",
                ])
                #expect(
                    remote.stdoutString.contains("\"timeouts\": 1"), "node-2 has no endpoint: \(remote.stdoutString)")
                // Its health-check port: node-1 has one local endpoint (200), node-2 none (503).
                let healthPort = try #require(soloService.spec?.healthCheckNodePort)
                for (node, status, count) in [(node1, "200", 1), (node2, "503", 0)] {
                    let check = try await lab.exec([
                        "--host", "client", "--", "python3", "-c",
                        "import urllib.request, urllib.error\ntry:\n r = urllib.request.urlopen('http://\(node):\(healthPort)/')\n"
                            + "except urllib.error.HTTPError as e:\n r = e\nprint(r.status, r.read().decode())",
                    ])
                    #expect(
                        check.stdoutString.hasPrefix(status + " ")
                            && check.stdoutString.contains("\"localEndpoints\":\(count)")
                            && check.stdoutString.contains("\"name\":\"solo\""),
                        "health check on \(node): \(check.stdoutString) \(check.stderrString)")
                }

                // A load-balancer IP (written into the status, as a load-balancer controller would; the client
                // routes it to node-1, which has the endpoint), then loadBalancerSourceRanges without and with the
                // client's address.
                let lbIP = "198.51.100.10"
                let patched = try await lab.kubectl([
                    "patch", "service", "solo", "--subresource=status", "--type=merge", "-p",
                    #"{"status":{"loadBalancer":{"ingress":[{"ip":"\#(lbIP)"}]}}}"#,
                ])
                try #require(patched.succeeded, "\(patched.stdoutString) \(patched.stderrString)")
                let route = try await lab.exec([
                    "--host", "client", "--", "ip", "route", "replace", lbIP, "via", "\(node1)",
                ])
                try #require(route.succeeded, "\(route.stderrString)")
                func viaLoadBalancer() async throws -> String {
                    try await lab.exec([
                        "--host", "client", "--", "python3", "-c", Self.httpClient, lbIP, "80", "/clientip", "count",
                        "1",
                    ]).stdoutString
                }
                #expect(
                    try await LabUnderTest.eventually(.seconds(5)) {
                        try await viaLoadBalancer().contains("\"\(external):")
                    }, "the load-balancer IP answers, client address kept")
                for (ranges, reaches) in [("203.0.113.0/24", false), ("\(external)/32", true)] {
                    let limited = try await lab.kubectl([
                        "patch", "service", "solo", "--type=merge", "-p",
                        #"{"spec":{"loadBalancerSourceRanges":["\#(ranges)"]}}"#,
                    ])
                    try #require(limited.succeeded, "\(limited.stdoutString) \(limited.stderrString)")
                    #expect(
                        try await LabUnderTest.eventually(.seconds(5)) {
                            let answer = try await viaLoadBalancer()
                            return reaches ? answer.contains("\"\(external):") : answer.contains("\"timeouts\": 1")
                        }, "loadBalancerSourceRanges \(ranges): \(reaches ? "reaches" : "dropped")")
                }

                // An endpoint removed (its pod relabelled out of the selector) stops getting traffic within 1 s.
                let webPods = try await client.list(Pod.self, namespace: "default", labelSelector: "app=web").items
                let leaving = try #require(webPods.first?.metadata.name)
                async let watched = lab.exec([
                    "client-2", "--", "python3", "-c", Self.httpClient, web, "8000", "/hostname", "watch", "4",
                ])
                try await Task.sleep(for: .milliseconds(1500))
                let removedAt = Date().timeIntervalSince1970
                _ = try await client.patch(
                    Pod.self, name: leaving, namespace: "default", type: .merge,
                    body: .object(["metadata": .object(["labels": .object(["app": .string("left")])])]))
                let watch = Self.timeline(try await watched.stdoutString)
                let lastSeen = watch.filter { $0.value == leaving }.map(\.time).max() ?? 0
                #expect(watch.contains { $0.time > removedAt + 1 }, "the watch ran past the removal")
                #expect(lastSeen - removedAt < 1, "\(leaving) answered \(lastSeen - removedAt) s after its removal")
                #expect(!watch.contains { $0.value == "refused" || $0.value == "timeout" }, "\(watch)")

                // UDP across a backend replacement: the client keeps its source port (one conntrack entry) and
                // gets answers from the new pod once it is ready.
                let dns = try await clusterIP("dns")
                let first = try #require(
                    try await client.list(Pod.self, namespace: "default", labelSelector: "app=dns").items.first?
                        .metadata.name)
                async let udpWatched = lab.exec(["client-2", "--", "python3", "-c", Self.udpClient, dns, "53", "12"])
                try await Task.sleep(for: .seconds(1))
                _ = try await client.delete(Pod.self, name: first, namespace: "default")
                let udp = Self.timeline(try await udpWatched.stdoutString)
                #expect(udp.first?.value == first, "\(udp.prefix(3))")
                let tail = udp.suffix(20).map(\.value)
                #expect(
                    tail.count == 20 && tail.allSatisfy { $0.hasPrefix("dns-") && $0 != first },
                    "the last 2 s answered by the new pod: \(udp.map(\.value))")
            }
        }
    }
}
