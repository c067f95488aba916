import APIServer
import Foundation
import Testing

/// The real kubectl with its default flags (validation on, which needs OpenAPI) against the server.
@Suite("kubectl default flags", .enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
struct KubectlDefaultFlagsTests {
    typealias Run = KubectlTests.Run

    @Test func createApplyGetDelete() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let directory = server.configuration.dataDir
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await KubectlTests.run(config, arguments) }
            func noValidationError(_ run: Run) -> Bool {
                !run.err.contains("validat") && !run.err.contains("openapi") && !run.err.contains("OpenAPI")
            }
            let manifestPath = directory + "/demo.yaml"
            try KubectlTests.manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)

            let create = try await kubectl("create", "-f", manifestPath)
            #expect(create.status == 0, "\(create.err)")
            #expect(noValidationError(create), "\(create.err)")
            #expect(create.out.contains("namespace/demo created"))
            #expect(create.out.contains("service/web created"))
            #expect(create.out.contains("pod/web-0 created"))
            let again = try await kubectl("create", "-f", manifestPath)
            #expect(again.status != 0)
            #expect(again.err.contains("AlreadyExists"), "\(again.err)")

            let pods = try await kubectl("get", "pods", "-n", "demo", "-o", "name")
            #expect(pods.status == 0, "\(pods.err)")
            #expect(pods.out.trimmingCharacters(in: .whitespacesAndNewlines) == "pod/web-0")

            let appliedPath = directory + "/applied.yaml"
            try KubectlTests.applied(ports: [80, 443]).write(toFile: appliedPath, atomically: true, encoding: .utf8)
            let apply1 = try await kubectl("apply", "-f", appliedPath)
            #expect(apply1.status == 0, "\(apply1.err)")
            #expect(noValidationError(apply1), "\(apply1.err)")
            #expect(apply1.out.contains("service/applied created"))
            let both = try await kubectl("get", "svc", "applied", "-o", "jsonpath={.spec.ports[*].port}")
            #expect(both.out == "80 443")

            try KubectlTests.applied(ports: [80, 8080, 443]).write(
                toFile: appliedPath, atomically: true, encoding: .utf8)
            let apply2 = try await kubectl("apply", "-f", appliedPath)
            #expect(apply2.status == 0, "\(apply2.err)")
            #expect(apply2.out.contains("service/applied configured"))
            let three = try await kubectl("get", "svc", "applied", "-o", "jsonpath={.spec.ports[*].port}")
            #expect(three.out == "80 8080 443")

            try KubectlTests.applied(ports: [80]).write(toFile: appliedPath, atomically: true, encoding: .utf8)
            let apply3 = try await kubectl("apply", "-f", appliedPath)
            #expect(apply3.status == 0, "\(apply3.err)")
            #expect(apply3.out.contains("service/applied configured"))
            let one = try await kubectl("get", "svc", "applied", "-o", "jsonpath={.spec.ports[*].port}")
            #expect(one.out == "80")
            let apply4 = try await kubectl("apply", "-f", appliedPath)
            #expect(apply4.status == 0, "\(apply4.err)")
            #expect(apply4.out.contains("service/applied unchanged"))

            // A kind kubectl does not compile in (a CRD in Kubernetes): apply uses a JSON merge patch.
            let gatewayPath = directory + "/gateway.yaml"
            func gateway(_ listener: String) -> String {
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata:
                  name: gw
                  namespace: default
                spec:
                  gatewayClassName: weft
                  listeners:
                  - name: \(listener)
                    port: 80
                    protocol: HTTP
                """
            }
            try gateway("http").write(toFile: gatewayPath, atomically: true, encoding: .utf8)
            let gw1 = try await kubectl("apply", "-f", gatewayPath)
            #expect(gw1.status == 0, "\(gw1.err)")
            #expect(gw1.out.contains("gateway.gateway.networking.k8s.io/gw created"), "\(gw1.out)")
            try gateway("web").write(toFile: gatewayPath, atomically: true, encoding: .utf8)
            let gw2 = try await kubectl("apply", "-f", gatewayPath)
            #expect(gw2.status == 0, "\(gw2.err)")
            #expect(gw2.out.contains("configured"), "\(gw2.out)")
            let listener = try await kubectl("get", "gateway", "gw", "-o", "jsonpath={.spec.listeners[*].name}")
            #expect(listener.out == "web")

            let delete = try await kubectl("delete", "-f", appliedPath)
            #expect(delete.status == 0, "\(delete.err)")
            #expect(delete.out.contains(#"service "applied" deleted"#))
            // The namespace goes first and takes its objects along.
            let deleteDemo = try await kubectl("delete", "-f", manifestPath, "--ignore-not-found")
            #expect(deleteDemo.status == 0, "\(deleteDemo.err)")
            #expect(deleteDemo.out.contains(#"namespace "demo" deleted"#), "\(deleteDemo.out)")
            let gone = try await kubectl("get", "svc", "-A", "-o", "name")
            #expect(!gone.out.contains("applied") && !gone.out.contains("web"))
        }
    }

    @Test func explain() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await KubectlTests.run(config, arguments) }

            let pods = try await kubectl("explain", "pods")
            #expect(pods.status == 0, "\(pods.err)")
            #expect(pods.out.contains("KIND:") && pods.out.contains("Pod"), "\(pods.out)")
            #expect(pods.out.contains("VERSION:") && pods.out.contains("v1"))
            for field in ["apiVersion", "kind", "metadata", "spec", "status"] {
                #expect(pods.out.contains(field), "explain pods lacks \(field): \(pods.out)")
            }
            #expect(pods.out.contains("APIVersion defines the versioned schema"))

            let spec = try await kubectl("explain", "services.spec")
            #expect(spec.status == 0, "\(spec.err)")
            #expect(spec.out.contains("FIELD:") && spec.out.contains("spec"), "\(spec.out)")
            #expect(spec.out.contains("Spec defines the desired behavior"), "\(spec.out)")

            let metadata = try await kubectl("explain", "deployments.metadata.labels")
            #expect(metadata.status == 0, "\(metadata.err)")
            #expect(metadata.out.contains("Map of string keys and values"), "\(metadata.out)")

            let gateway = try await kubectl("explain", "gateways")
            #expect(gateway.status == 0, "\(gateway.err)")
            #expect(gateway.out.contains("gateway.networking.k8s.io"), "\(gateway.out)")

            let missing = try await kubectl("explain", "pods.nosuchfield")
            #expect(missing.status != 0)
        }
    }
}
