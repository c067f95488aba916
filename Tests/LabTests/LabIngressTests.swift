import Foundation
import Glibc
import KubeModel
import Lab
import NFTables
import Testing

extension LabKernelTests {
    /// The ingress proxy (issue 8) as `weft lab up` runs it: `weft ingress` host-network on every node, the
    /// IngressClass `weft` (default) and the GatewayClass `weft`; the external client reaches it with curl.
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabIngressTests {
        static let manifest = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web-a}
            spec:
              replicas: 2
              selector: {matchLabels: {app: web-a}}
              template:
                metadata: {labels: {app: web-a}}
                spec:
                  containers:
                  - {name: web, image: agnhost, command: [weft, serve, --http-port, "8080"], ports: [{name: http, containerPort: 8080}]}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web-b}
            spec:
              replicas: 1
              selector: {matchLabels: {app: web-b}}
              template:
                metadata: {labels: {app: web-b}}
                spec:
                  containers:
                  - {name: web, image: agnhost, command: [weft, serve, --http-port, "8080"], ports: [{name: http, containerPort: 8080}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-a}
            spec: {selector: {app: web-a}, ports: [{name: http, port: 80, targetPort: http}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-b}
            spec: {selector: {app: web-b}, ports: [{port: 80, targetPort: 8080}]}
            """

        /// `curl` from the lab's external client; `arguments` after the fixed options.
        static func curl(_ lab: LabUnderTest, _ arguments: [String]) async throws -> ProcessResult {
            try await lab.exec(["--host", "client", "--", "/usr/bin/curl", "-s", "-m", "5"] + arguments)
        }

        /// The pod names answering `count` GETs of `url` over one keep-alive connection (`NAME CODE` per line).
        static func answers(_ lab: LabUnderTest, _ resolve: String, _ url: String, count: Int) async throws
            -> [String]
        {
            let result = try await curl(
                lab, ["--resolve", resolve, "-w", " %{http_code}\\n"] + Array(repeating: url, count: count))
            return result.stdoutString.split(separator: "\n").map(String.init)
        }

        @Test func ingressAndGatewayRoutesThroughTheProxy() async throws {
            try await LabUnderTest.with(["--nodes", "2"], manifest: Self.manifest) { lab in
                let spec = try lab.spec
                let node1 = spec.topology.node(1).addresses.v4.description
                let node2 = spec.topology.node(2).addresses.v4.description
                let work = "/tmp/weft-labtest-\(lab.name)-tls"
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: work) }
                let openssl = try await ChildProcess.run(
                    SpawnOptions(
                        executable: "/usr/bin/openssl",
                        arguments: [
                            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", work + "/key.pem", "-out",
                            work + "/cert.pem", "-days", "1", "-subj", "/CN=foo.example", "-addext",
                            "subjectAltName=DNS:foo.example",
                        ], environment: ["PATH": ContainerLaunch.defaultPath]), input: nil)
                try #require(openssl.succeeded, "\(openssl.stderrString)")
                let secret = try await lab.kubectl([
                    "create", "secret", "tls", "foo-tls", "--cert", work + "/cert.pem", "--key", work + "/key.pem",
                ])
                try #require(secret.succeeded, "\(secret.stderrString)")
                let ingress = """
                    apiVersion: networking.k8s.io/v1
                    kind: Ingress
                    metadata: {name: web}
                    spec:
                      tls: [{hosts: [foo.example], secretName: foo-tls}]
                      rules:
                      - host: foo.example
                        http:
                          paths:
                          - {path: /, pathType: Prefix, backend: {service: {name: web-a, port: {name: http}}}}
                          - {path: /missing, pathType: Prefix, backend: {service: {name: nope, port: {number: 80}}}}
                    """
                try ingress.write(toFile: work + "/ingress.yaml", atomically: true, encoding: .utf8)
                let applied = try await lab.kubectl(["apply", "-f", work + "/ingress.yaml"])
                try #require(applied.succeeded, "\(applied.stderrString)")

                // HTTP on either node: both web-a pods answer (round-robin), only for the Ingress's host.
                var seen: [String] = []
                #expect(
                    try await LabUnderTest.eventually(.seconds(20)) {
                        seen = try await Self.answers(
                            lab, "foo.example:80:\(node2)", "http://foo.example/hostname", count: 6)
                        return Set(seen).count == 2
                            && seen.allSatisfy { $0.hasPrefix("web-a-") && $0.hasSuffix(" 200") }
                    }, "\(seen)")
                let viaNode1 = try await Self.answers(
                    lab, "foo.example:80:\(node1)", "http://foo.example/hostname", count: 2)
                #expect(viaNode1.allSatisfy { $0.hasPrefix("web-a-") && $0.hasSuffix(" 200") }, "\(viaNode1)")
                // Error bodies end with a newline: the status code is the last line.
                let otherHost = try await Self.curl(
                    lab, ["--resolve", "bar.example:80:\(node1)", "-w", "%{http_code}", "http://bar.example/"])
                #expect(
                    otherHost.stdoutString == "no route for http://bar.example:80/\n404", "\(otherHost.stdoutString)")
                // A backend whose Service does not exist: 503 with the reason.
                let missing = try await Self.curl(
                    lab, ["--resolve", "foo.example:80:\(node1)", "-w", "%{http_code}", "http://foo.example/missing"])
                #expect(missing.stdoutString == "service default/nope not found\n503", "\(missing.stdoutString)")

                // HTTPS: SNI picks the Secret's certificate (curl verifies it against that certificate alone); a
                // name without one gets the default certificate, which does not verify.
                let tls = try await Self.curl(
                    lab,
                    [
                        "--cacert", work + "/cert.pem", "--resolve", "foo.example:443:\(node1)", "-w", " %{http_code}",
                        "https://foo.example/hostname",
                    ])
                #expect(tls.succeeded && tls.stdoutString.hasPrefix("web-a-") && tls.stdoutString.hasSuffix(" 200"))
                let other = try await Self.curl(
                    lab,
                    ["--cacert", work + "/cert.pem", "--resolve", "bar.example:443:\(node1)", "https://bar.example/"])
                #expect(other.exitStatus == 60, "curl: \(other.exitStatus) \(other.stderrString)")

                // Ingress status: the proxies' node addresses.
                #expect(
                    try await LabUnderTest.eventually {
                        let status = try await lab.kubectl([
                            "get", "ingress", "web", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}",
                        ])
                        return Set(status.stdoutString.split(separator: " ").map(String.init)) == [node1, node2]
                    })

                // Gateway API: a listener on 8000 for gw.example, an HTTPRoute splitting 70/30 over two Services.
                let gateway = """
                    apiVersion: gateway.networking.k8s.io/v1
                    kind: Gateway
                    metadata: {name: gw}
                    spec:
                      gatewayClassName: weft
                      listeners: [{name: http, protocol: HTTP, port: 8000, hostname: gw.example}]
                    ---
                    apiVersion: gateway.networking.k8s.io/v1
                    kind: HTTPRoute
                    metadata: {name: split}
                    spec:
                      parentRefs: [{name: gw}]
                      rules:
                      - matches: [{path: {type: PathPrefix, value: /}}]
                        backendRefs: [{name: web-a, port: 80, weight: 70}, {name: web-b, port: 80, weight: 30}]
                    """
                try gateway.write(toFile: work + "/gateway.yaml", atomically: true, encoding: .utf8)
                let gw = try await lab.kubectl(["apply", "-f", work + "/gateway.yaml"])
                try #require(gw.succeeded, "\(gw.stderrString)")
                var split: [String] = []
                #expect(
                    try await LabUnderTest.eventually(.seconds(20)) {
                        split = try await Self.answers(
                            lab, "gw.example:8000:\(node1)", "http://gw.example:8000/hostname", count: 1)
                        return split.first?.hasSuffix(" 200") == true
                    }, "\(split)")
                split = try await Self.answers(
                    lab, "gw.example:8000:\(node1)", "http://gw.example:8000/hostname", count: 500)
                let toA = split.filter { $0.hasPrefix("web-a-") && $0.hasSuffix(" 200") }.count
                let toB = split.filter { $0.hasPrefix("web-b-") && $0.hasSuffix(" 200") }.count
                print("70/30 HTTPRoute over 500 requests: web-a \(toA), web-b \(toB)")
                #expect(toA + toB == 500)
                #expect((325...375).contains(toA), "web-a \(toA) of 500")
                let accepted = try await lab.kubectl([
                    "get", "httproute", "split", "-o",
                    #"jsonpath={.status.parents[0].conditions[?(@.type=="Accepted")].status}"#,
                ])
                #expect(accepted.stdoutString == "True", "\(accepted.stdoutString)")

                // Under load: route changes and an endpoint going away, with no failed request.
                async let load = Self.answers(
                    lab, "gw.example:8000:\(node2)", "http://gw.example:8000/hostname", count: 3000)
                for weight in [10, 90, 50, 20, 80] {
                    let patched = try await lab.kubectl([
                        "patch", "httproute", "split", "--type", "json", "-p",
                        #"[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":\#(weight)}]"#,
                    ])
                    #expect(patched.succeeded, "\(patched.stderrString)")
                    try await Task.sleep(for: .milliseconds(150))
                }
                let scaled = try await lab.kubectl(["scale", "deployment", "web-a", "--replicas", "1"])
                #expect(scaled.succeeded, "\(scaled.stderrString)")
                let answered = try await load
                let failed = answered.filter { !$0.hasSuffix(" 200") }
                print("under load: \(answered.count) requests, \(failed.count) not 200")
                #expect(answered.count == 3000 && failed.isEmpty, "\(failed.prefix(5))")
            }
        }
    }
}
