import Foundation
import Glibc
import Lab
import Testing

extension LabKernelTests {
    /// Network policies enforced by `weft agent` in a two-node lab, checked as the upstream e2e suite
    /// (test/e2e/network/netpol) does: namespaces x, y, z with pods a, b, c serving TCP and UDP on ports 80 and
    /// 81; each case applies its policies with kubectl, probes all 81 pairs with `weft probe` from inside the
    /// pods, and compares the observed reachability with the expected matrix (printed with the difference when
    /// they disagree). Probes are retried for a few seconds after a change: the agents program it asynchronously.
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabPolicyTests {
        static let namespaces = ["x", "y", "z"]
        static let names = ["a", "b", "c"]
        static let pods = namespaces.flatMap { ns in names.map { "\(ns)/\($0)" } }

        static var manifest: String {
            var documents = namespaces.map { ns in
                """
                apiVersion: v1
                kind: Namespace
                metadata: {name: "\(ns)", labels: {ns: "\(ns)"}}
                """
            }
            for ns in namespaces {
                for (index, name) in names.enumerated() {
                    // a and c on node-1, b on node-2: pairs on one node and across nodes.
                    let node = index == 1 ? "node-2" : "node-1"
                    documents.append(
                        """
                        apiVersion: v1
                        kind: Pod
                        metadata: {name: \(name), namespace: "\(ns)", labels: {pod: \(name)}}
                        spec:
                          nodeName: \(node)
                          containers:
                          - name: serve-80
                            image: agnhost
                            command: [weft, serve, --http-port, "80", --udp-port, "80"]
                            ports:
                            - {name: serve-80-tcp, containerPort: 80, protocol: TCP}
                            - {name: serve-80-udp, containerPort: 80, protocol: UDP}
                          - name: serve-81
                            image: agnhost
                            command: [weft, serve, --http-port, "81", --udp-port, "81"]
                            ports:
                            - {name: serve-81-tcp, containerPort: 81, protocol: TCP}
                            - {name: serve-81-udp, containerPort: 81, protocol: UDP}
                        """)
                }
            }
            return documents.joined(separator: "\n---\n")
        }

        /// Probes every target from one pod at once with `weft probe` (its path is the first argument: a pod's
        /// PATH has no `weft`) and prints one line per target:
        /// "TARGET 0" when it connected (exit codes: 0 connected, 1 refused, 2 timed out).
        static let prober = """
            import subprocess, sys
            weft, protocol, port, targets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
            running = [(t, subprocess.Popen([weft, "probe", "--protocol", protocol, "--timeout", "1s", t + ":" + port],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)) for t in targets]
            for t, p in running:
                print(t, p.wait(), flush=True)
            """

        struct Matrix: Equatable {
            /// Allowed pairs "from>to".
            var allowed: Set<String>

            init(_ rule: (String, String) -> Bool) {
                allowed = Set(
                    LabPolicyTests.pods.flatMap { from in
                        // A pod reaching its own address never leaves its namespace: always allowed.
                        LabPolicyTests.pods.filter { to in from == to || rule(from, to) }.map { "\(from)>\($0)" }
                    })
            }

            init(allowed: Set<String>) { self.allowed = allowed }

            func allows(_ from: String, _ to: String) -> Bool { allowed.contains("\(from)>\(to)") }

            /// Rows are sources, columns destinations; `.` allowed, `X` denied; with `other`, a `!` marks a
            /// difference.
            func render(against other: Matrix? = nil) -> String {
                var lines = [
                    "     "
                        + LabPolicyTests.pods.map { $0.padding(toLength: 4, withPad: " ", startingAt: 0) }
                        .joined()
                ]
                for from in LabPolicyTests.pods {
                    var line = from.padding(toLength: 5, withPad: " ", startingAt: 0)
                    for to in LabPolicyTests.pods {
                        let mark = allows(from, to) ? "." : "X"
                        let differs = other.map { $0.allows(from, to) != allows(from, to) } ?? false
                        line += (differs ? "!" + mark : mark + " ").padding(toLength: 4, withPad: " ", startingAt: 0)
                    }
                    lines.append(line)
                }
                return lines.joined(separator: "\n")
            }
        }

        static func ns(_ pod: String) -> String { String(pod.split(separator: "/")[0]) }
        static func name(_ pod: String) -> String { String(pod.split(separator: "/")[1]) }

        /// The lab with its 9 pods, their addresses by "ns/name". Namespace names and label values are quoted in
        /// YAML: kubectl reads `y` as a boolean (YAML 1.1).
        struct Cluster {
            var lab: LabUnderTest
            var ips: [String: String]

            func kubectl(_ arguments: [String], input: String? = nil) async throws {
                var arguments = arguments
                var path: String?
                if let input {
                    let file = "/tmp/weft-labpolicy-\(lab.name)-\(UInt32.random(in: 0...UInt32.max)).yaml"
                    try input.write(toFile: file, atomically: true, encoding: .utf8)
                    arguments += ["-f", file]
                    path = file
                }
                defer { if let path { unlink(path) } }
                let result = try await lab.kubectl(arguments)
                try #require(result.succeeded, "kubectl \(arguments): \(result.stdoutString) \(result.stderrString)")
            }

            func observe(_ protocolName: String, _ port: Int) async throws -> Matrix {
                let targets = LabPolicyTests.pods.map { ips[$0]! }
                let rows = try await withThrowingTaskGroup(of: (String, [String]).self) { group in
                    for from in LabPolicyTests.pods {
                        group.addTask {
                            let run = try await lab.exec(
                                [
                                    "-n", LabPolicyTests.ns(from), LabPolicyTests.name(from), "--", "python3", "-c",
                                    LabPolicyTests.prober, LabUnderTest.weftBinary, protocolName, "\(port)",
                                ] + targets)
                            let reached = run.stdoutString.split(separator: "\n").compactMap { line -> String? in
                                let parts = line.split(separator: " ")
                                guard parts.count == 2, parts[1] == "0" else { return nil }
                                return LabPolicyTests.pods.first { ips[$0] == String(parts[0]) }
                            }
                            return (from, reached)
                        }
                    }
                    var out: [(String, [String])] = []
                    for try await row in group { out.append(row) }
                    return out
                }
                return Matrix(allowed: Set(rows.flatMap { from, reached in reached.map { "\(from)>\($0)" } }))
            }

            /// Probes until the matrix is the expected one (the agents program changes asynchronously) or 20 s
            /// passed; records the case's failure with expected, observed and their difference.
            func expect(
                _ name: String, _ expected: Matrix, _ protocolName: String = "tcp", _ port: Int = 80,
                sourceLocation: SourceLocation = #_sourceLocation
            ) async throws {
                let deadline = ContinuousClock.now + .seconds(20)
                var observed = try await observe(protocolName, port)
                while observed != expected, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(500))
                    observed = try await observe(protocolName, port)
                }
                #expect(
                    observed == expected,
                    """
                    \(name), \(protocolName) \(port)
                    expected:
                    \(expected.render())
                    observed (! differs):
                    \(observed.render(against: expected))
                    """, sourceLocation: sourceLocation)
            }

            /// Deletes every policy and puts the labels back.
            func reset() async throws {
                try await kubectl(["delete", "networkpolicies", "--all", "-A", "--wait=false"])
                try await kubectl(["delete", "adminnetworkpolicies", "--all", "--wait=false"])
                try await kubectl(["delete", "baselineadminnetworkpolicies", "--all", "--wait=false"])
                for ns in LabPolicyTests.namespaces {
                    try await kubectl(["label", "namespace", ns, "team-", "ns=\(ns)", "--overwrite"])
                    for name in LabPolicyTests.names {
                        try await kubectl(["label", "pod", "-n", ns, name, "role-", "pod=\(name)", "--overwrite"])
                    }
                }
            }
        }

        static func networkPolicy(_ namespace: String, _ name: String, _ spec: String) -> String {
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: \(name), namespace: "\(namespace)"}
            spec:
            \(spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            """
        }

        static func withCluster(_ body: (Cluster) async throws -> Void) async throws {
            try await LabUnderTest.with(["--nodes", "2", "--ip-family", "ipv4"], manifest: manifest) { lab in
                var cluster = Cluster(lab: lab, ips: [:])
                let ready = try await LabUnderTest.eventually(.seconds(60)) {
                    let result = try await lab.kubectl([
                        "get", "pods", "-A", "-o",
                        "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.podIP}\n{end}",
                    ])
                    for line in result.stdoutString.split(separator: "\n") {
                        let parts = line.split(separator: " ")
                        if parts.count == 2 { cluster.ips[String(parts[0])] = String(parts[1]) }
                    }
                    return pods.allSatisfy { cluster.ips[$0] != nil }
                }
                try #require(ready, "pods without addresses: \(pods.filter { cluster.ips[$0] == nil })")
                // Everything reaches everything before any policy (servers up, routes in place).
                try await cluster.expect("no policy", Matrix { _, _ in true })
                try await body(cluster)
            }
        }

        @Test func networkPolicyMatrix() async throws {
            try await Self.withCluster { c in
                let toXA = { (to: String) in to == "x/a" }
                // Default-deny ingress in x.
                try await c.kubectl(
                    ["apply"], input: Self.networkPolicy("x", "deny-in", "podSelector: {}\npolicyTypes: [Ingress]"))
                try await c.expect("default-deny ingress", Matrix { _, to in Self.ns(to) != "x" })
                try await c.reset()

                // Default-deny egress in x.
                try await c.kubectl(
                    ["apply"], input: Self.networkPolicy("x", "deny-out", "podSelector: {}\npolicyTypes: [Egress]"))
                try await c.expect("default-deny egress", Matrix { from, _ in Self.ns(from) != "x" })
                try await c.reset()

                // Deny all, both ways.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy("x", "deny-all", "podSelector: {}\npolicyTypes: [Ingress, Egress]"))
                try await c.expect("deny all", Matrix { from, to in Self.ns(from) != "x" && Self.ns(to) != "x" })
                try await c.reset()

                // Allow to x/a from its own namespace (podSelector {} in a peer: the policy's namespace).
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "same-ns", "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{podSelector: {}}]"))
                try await c.expect(
                    "allow from the same namespace", Matrix { from, to in !toXA(to) || Self.ns(from) == "x" })
                try await c.reset()

                // namespaceSelector only.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "from-y",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: 'y'}}}]"
                    ))
                try await c.expect("namespaceSelector only", Matrix { from, to in !toXA(to) || Self.ns(from) == "y" })
                try await c.reset()

                // podSelector AND namespaceSelector in one peer…
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "and",
                        """
                        podSelector: {matchLabels: {pod: a}}
                        ingress:
                        - from: [{namespaceSelector: {matchLabels: {ns: 'y'}}, podSelector: {matchLabels: {pod: b}}}]
                        """))
                try await c.expect("one peer: namespace AND pod", Matrix { from, to in !toXA(to) || from == "y/b" })
                try await c.reset()

                // … versus OR in two peers.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "or",
                        """
                        podSelector: {matchLabels: {pod: a}}
                        ingress:
                        - from: [{namespaceSelector: {matchLabels: {ns: 'y'}}}, {podSelector: {matchLabels: {pod: b}}}]
                        """))
                try await c.expect(
                    "two peers: namespace OR pod",
                    Matrix { from, to in !toXA(to) || Self.ns(from) == "y" || from == "x/b" })
                try await c.reset()

                // matchExpressions.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "expressions",
                        """
                        podSelector: {matchExpressions: [{key: pod, operator: In, values: [a]}]}
                        ingress:
                        - from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: ['x', 'y']}]}}]
                        """))
                try await c.expect("matchExpressions", Matrix { from, to in !toXA(to) || Self.ns(from) == "z" })
                try await c.reset()

                // A numeric port: 81 open to all, 80 closed.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "port-81",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- ports: [{port: 81, protocol: TCP}]"))
                try await c.expect("numeric port, 80", Matrix { _, to in !toXA(to) })
                try await c.expect("numeric port, 81", Matrix { _, _ in true }, "tcp", 81)
                try await c.reset()

                // A named port (resolved from the destination pod's container ports).
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "named",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- ports: [{port: serve-81-tcp}]"))
                try await c.expect("named port, 80", Matrix { _, to in !toXA(to) })
                try await c.expect("named port, 81", Matrix { _, _ in true }, "tcp", 81)
                try await c.reset()

                // endPort: 81-90.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "range",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- ports: [{port: 81, endPort: 90, protocol: TCP}]"
                    ))
                try await c.expect("endPort, 80", Matrix { _, to in !toXA(to) })
                try await c.expect("endPort, 81", Matrix { _, _ in true }, "tcp", 81)
                try await c.reset()

                // ipBlock with except: everything but y/b.
                let yb = c.ips["y/b"]!
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "ipblock",
                        """
                        podSelector: {matchLabels: {pod: a}}
                        ingress:
                        - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [\(yb)/32]}}]
                        """))
                try await c.expect("ipBlock with except", Matrix { from, to in !toXA(to) || from != "y/b" })
                try await c.reset()

                // Stacked policies add up; then one is updated; then deleted.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "one",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: 'y'}}}]"
                    )
                        + "\n---\n"
                        + Self.networkPolicy(
                            "x", "two",
                            """
                            podSelector: {matchLabels: {pod: a}}
                            ingress:
                            - from: [{namespaceSelector: {matchLabels: {ns: 'z'}}, podSelector: {matchLabels: {pod: a}}}]
                            """))
                try await c.expect("stacked", Matrix { from, to in !toXA(to) || Self.ns(from) == "y" || from == "z/a" })
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "one",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: 'x'}}}]"
                    ))
                try await c.expect("updated", Matrix { from, to in !toXA(to) || Self.ns(from) == "x" || from == "z/a" })
                try await c.kubectl(["delete", "networkpolicy", "-n", "x", "one", "two"])
                try await c.expect("deleted", Matrix { _, _ in true })
                try await c.reset()

                // A pod's labels change, then a namespace's.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "by-label",
                        """
                        podSelector: {matchLabels: {pod: a}}
                        ingress:
                        - from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: client}}}]
                        - from: [{namespaceSelector: {matchLabels: {team: blue}}}]
                        """))
                try await c.expect("nobody labelled", Matrix { _, to in !toXA(to) })
                try await c.kubectl(["label", "pod", "-n", "y", "b", "role=client"])
                try await c.expect("pod label added", Matrix { from, to in !toXA(to) || from == "y/b" })
                try await c.kubectl(["label", "pod", "-n", "y", "b", "role-"])
                try await c.kubectl(["label", "namespace", "z", "team=blue"])
                try await c.expect("namespace label added", Matrix { from, to in !toXA(to) || Self.ns(from) == "z" })
                try await c.reset()

                // The client's egress policy denies what the server allows.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "y", "b-no-egress", "podSelector: {matchLabels: {pod: b}}\npolicyTypes: [Egress]")
                        + "\n---\n"
                        + Self.networkPolicy(
                            "x", "a-open",
                            "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {}}]"))
                try await c.expect("egress denied on the client", Matrix { from, _ in from != "y/b" })
                try await c.reset()

                // UDP is not allowed by a TCP rule.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "tcp-only",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- ports: [{port: 80, protocol: TCP}]"))
                try await c.expect("TCP rule, TCP", Matrix { _, _ in true })
                try await c.expect("TCP rule, UDP", Matrix { _, to in !toXA(to) }, "udp", 80)
                try await c.reset()
            }
        }

        static func adminPolicy(_ name: String, priority: Int, subject: String, ingress: String) -> String {
            """
            apiVersion: policy.networking.k8s.io/v1alpha1
            kind: AdminNetworkPolicy
            metadata: {name: \(name)}
            spec:
              priority: \(priority)
              subject: \(subject)
              ingress:
            \(ingress.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            """
        }

        @Test func adminPolicyMatrix() async throws {
            try await Self.withCluster { c in
                let toX = { (to: String) in Self.ns(to) == "x" }
                // ANP Deny wins over a NetworkPolicy that allows.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "open", "podSelector: {}\ningress:\n- from: [{namespaceSelector: {}}]")
                        + "\n---\n"
                        + Self.adminPolicy(
                            "deny-y", priority: 10, subject: "{namespaces: {matchLabels: {ns: 'x'}}}",
                            ingress: "- {name: deny-y, action: Deny, from: [{namespaces: {matchLabels: {ns: 'y'}}}]}"))
                try await c.expect("ANP Deny over NP allow", Matrix { from, to in !toX(to) || Self.ns(from) != "y" })
                try await c.reset()

                // ANP Allow wins over a NetworkPolicy that denies.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy("x", "deny-in", "podSelector: {}\npolicyTypes: [Ingress]")
                        + "\n---\n"
                        + Self.adminPolicy(
                            "allow-y", priority: 10, subject: "{namespaces: {matchLabels: {ns: 'x'}}}",
                            ingress: "- {name: allow-y, action: Allow, from: [{namespaces: {matchLabels: {ns: 'y'}}}]}")
                )
                try await c.expect("ANP Allow over NP deny", Matrix { from, to in !toX(to) || Self.ns(from) == "y" })
                try await c.reset()

                // Pass skips the lower-priority ANP's Allow and leaves the decision to the NetworkPolicy.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "from-z",
                        "podSelector: {}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: 'z'}}}]")
                        + "\n---\n"
                        + Self.adminPolicy(
                            "pass-y", priority: 10, subject: "{namespaces: {matchLabels: {ns: 'x'}}}",
                            ingress: "- {name: pass-y, action: Pass, from: [{namespaces: {matchLabels: {ns: 'y'}}}]}")
                        + "\n---\n"
                        + Self.adminPolicy(
                            "allow-y", priority: 20, subject: "{namespaces: {matchLabels: {ns: 'x'}}}",
                            ingress: "- {name: allow-y, action: Allow, from: [{namespaces: {matchLabels: {ns: 'y'}}}]}")
                )
                try await c.expect("ANP Pass to NP", Matrix { from, to in !toX(to) || Self.ns(from) == "z" })
                try await c.reset()

                // BANP default deny, under a NetworkPolicy that allows x/a.
                try await c.kubectl(
                    ["apply"],
                    input: Self.networkPolicy(
                        "x", "a-open",
                        "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {}}]")
                        + "\n---\n"
                            + """
                            apiVersion: policy.networking.k8s.io/v1alpha1
                            kind: BaselineAdminNetworkPolicy
                            metadata: {name: default}
                            spec:
                              subject: {namespaces: {}}
                              ingress:
                              - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
                            """)
                try await c.expect("BANP deny under NP allow", Matrix { _, to in to == "x/a" })
                try await c.reset()
            }
        }
    }
}
