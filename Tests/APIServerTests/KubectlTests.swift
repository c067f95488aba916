import APIServer
import Foundation
import Testing

let kubectlPath = "/usr/bin/kubectl"

/// The real kubectl against the server (TLS, token, the kubeconfig the server writes).
@Suite("kubectl", .enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
struct KubectlTests {
    static let kubectl = kubectlPath

    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    /// Runs kubectl with the server's kubeconfig, without blocking a concurrency thread.
    static func run(_ kubeconfig: String, _ arguments: [String]) async throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kubectl)
        process.arguments = ["--kubeconfig", kubeconfig] + arguments
        process.environment = ["HOME": NSTemporaryDirectory(), "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return Run(
            status: status,
            out: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            err: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    static let manifest = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: demo
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: demo
        spec:
          selector:
            app: web
          ports:
          - name: http
            port: 80
            targetPort: 8080
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: web-0
          namespace: demo
          labels:
            app: web
        spec:
          containers:
          - name: web
            image: nginx
        """

    static func applied(ports: [Int]) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: applied
          namespace: default
        spec:
          selector:
            app: applied
          ports:
        \(ports.map { "  - name: p\($0)\n    port: \($0)" }.joined(separator: "\n"))
        """
    }

    @Test func workflow() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let directory = server.configuration.dataDir
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await Self.run(config, arguments) }
            let manifestPath = directory + "/demo.yaml"
            try Self.manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)

            let version = try await kubectl("version", "-o", "json")
            #expect(version.status == 0, "\(version.err)")
            #expect(version.out.contains("v1.32.0-weft"))

            let create = try await kubectl("create", "-f", manifestPath, "--validate=false")
            #expect(create.status == 0, "\(create.err)")
            #expect(create.out.contains("namespace/demo created"))
            #expect(create.out.contains("service/web created"))
            #expect(create.out.contains("pod/web-0 created"))

            let pods = try await kubectl("get", "pods", "-n", "demo")
            #expect(pods.status == 0, "\(pods.err)")
            let podLines = pods.out.split(separator: "\n")
            #expect(
                podLines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                    "NAME", "READY", "STATUS", "RESTARTS", "AGE",
                ])
            #expect(podLines.dropFirst().first?.hasPrefix("web-0") == true)
            #expect(pods.out.contains("Pending"))

            let wide = try await kubectl("get", "pods", "-n", "demo", "-o", "wide")
            #expect(wide.out.contains("NODE"))

            let all = try await kubectl("get", "pods", "-A")
            #expect(all.out.contains("NAMESPACE") && all.out.contains("demo"))

            let yaml = try await kubectl("get", "svc", "web", "-n", "demo", "-o", "yaml")
            #expect(yaml.status == 0, "\(yaml.err)")
            #expect(yaml.out.contains("port: 80"))
            #expect(yaml.out.contains("kind: Service"))

            let name = try await kubectl("get", "pod", "web-0", "-n", "demo", "-o", "jsonpath={.metadata.name}")
            #expect(name.out == "web-0")

            let label = try await kubectl("label", "pod", "web-0", "-n", "demo", "tier=front")
            #expect(label.status == 0, "\(label.err)")
            #expect(label.out.contains("pod/web-0 labeled"))
            let selected = try await kubectl("get", "pods", "-n", "demo", "-l", "tier=front", "-o", "name")
            #expect(selected.out.trimmingCharacters(in: .whitespacesAndNewlines) == "pod/web-0")
            let notSelected = try await kubectl("get", "pods", "-n", "demo", "-l", "tier in (back)", "-o", "name")
            #expect(notSelected.out.isEmpty)

            let patch = try await kubectl(
                "patch", "pod", "web-0", "-n", "demo", "--type", "merge", "-p",
                #"{"metadata":{"annotations":{"a":"b"}}}"#)
            #expect(patch.status == 0, "\(patch.err)")
            #expect(patch.out.contains("pod/web-0 patched"))
            let annotation = try await kubectl(
                "get", "pod", "web-0", "-n", "demo", "-o", "jsonpath={.metadata.annotations.a}")
            #expect(annotation.out == "b")

            let missing = try await kubectl("get", "pod", "x", "-n", "demo")
            #expect(missing.status != 0)
            #expect(missing.err.contains(#"Error from server (NotFound): pods "x" not found"#))

            let appliedPath = directory + "/applied.yaml"
            try Self.applied(ports: [80, 443]).write(toFile: appliedPath, atomically: true, encoding: .utf8)
            let apply1 = try await kubectl("apply", "-f", appliedPath, "--validate=false")
            #expect(apply1.status == 0, "\(apply1.err)")
            #expect(apply1.out.contains("service/applied created"))
            try Self.applied(ports: [80]).write(toFile: appliedPath, atomically: true, encoding: .utf8)
            let apply2 = try await kubectl("apply", "-f", appliedPath, "--validate=false")
            #expect(apply2.status == 0, "\(apply2.err)")
            #expect(apply2.out.contains("service/applied configured"))
            let ports = try await kubectl("get", "svc", "applied", "-o", "jsonpath={.spec.ports[*].port}")
            #expect(ports.out == "80")
            let apply3 = try await kubectl("apply", "-f", appliedPath, "--validate=false")
            #expect(apply3.out.contains("service/applied unchanged"))

            let delete = try await kubectl("delete", "pod", "web-0", "-n", "demo")
            #expect(delete.status == 0, "\(delete.err)")
            #expect(delete.out.contains(#"pod "web-0" deleted"#))
            let gone = try await kubectl("get", "pods", "-n", "demo", "-o", "name")
            #expect(gone.out.isEmpty)
            let deleteNamespace = try await kubectl("delete", "namespace", "demo")
            #expect(deleteNamespace.status == 0, "\(deleteNamespace.err)")
            let services = try await kubectl("get", "svc", "-A", "-o", "name")
            #expect(!services.out.contains("web"))
        }
    }
}
