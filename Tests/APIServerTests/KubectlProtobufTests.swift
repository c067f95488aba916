import APIServer
import Foundation
import Testing
import WeftNet

/// kubectl's typed `create` commands, which send protobuf bodies, against the server.
@Suite("kubectl create (protobuf bodies)", .enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
struct KubectlProtobufTests {
    typealias Run = KubectlTests.Run

    @Test func createCommands() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await KubectlTests.run(config, arguments) }
            func object(_ arguments: String...) async throws -> JSONValue {
                let run = try await KubectlTests.run(config, ["get"] + arguments + ["-o", "json"])
                #expect(run.status == 0, "\(run.err)")
                return try JSONValue(parsing: Array(run.out.utf8))
            }

            // Sends protobuf (checked with -v=8); before, the server answered 415.
            let verbose = try await kubectl("create", "namespace", "pb", "-v=8")
            #expect(verbose.status == 0, "\(verbose.err)")
            #expect(verbose.err.contains("Content-Type: application/vnd.kubernetes.protobuf"))
            #expect(verbose.out.contains("namespace/pb created"))
            let namespace = try await object("namespace", "pb")
            #expect(namespace.string("metadata.name") == "pb")
            #expect(namespace.string("metadata.creationTimestamp") != nil)

            let configMap = try await kubectl("create", "configmap", "c", "-n", "pb", "--from-literal=a=b")
            #expect(configMap.status == 0, "\(configMap.err)")
            #expect(try await object("configmap", "c", "-n", "pb").string("data.a") == "b")

            let secret = try await kubectl(
                "create", "secret", "generic", "s", "-n", "pb", "--from-literal=a=b", "--from-literal=pw=p@ss w0rd")
            #expect(secret.status == 0, "\(secret.err)")
            let encoded = try await kubectl("get", "secret", "s", "-n", "pb", "-o", "jsonpath={.data.a} {.data.pw}")
            #expect(encoded.out == "Yg== cEBzcyB3MHJk")

            let deployment = try await kubectl(
                "create", "deployment", "web", "-n", "pb", "--image=nginx", "--replicas=3", "--port=80")
            #expect(deployment.status == 0, "\(deployment.err)")
            #expect(deployment.out.contains("deployment.apps/web created"))
            let web = try await object("deployment", "web", "-n", "pb")
            #expect(web.number("spec.replicas") == 3)
            #expect(web.string("spec.selector.matchLabels.app") == "web")
            #expect(web.string("spec.template.metadata.labels.app") == "web")
            #expect(web.string("spec.template.spec.containers.0.name") == "nginx")
            #expect(web.string("spec.template.spec.containers.0.image") == "nginx")
            #expect(web.number("spec.template.spec.containers.0.ports.0.containerPort") == 80)

            let service = try await kubectl("create", "service", "clusterip", "web", "-n", "pb", "--tcp=80:8080")
            #expect(service.status == 0, "\(service.err)")
            #expect(service.out.contains("service/web created"))
            let svc = try await object("service", "web", "-n", "pb")
            #expect(svc.string("spec.type") == "ClusterIP")
            #expect(svc.number("spec.ports.0.port") == 80)
            #expect(svc.number("spec.ports.0.targetPort") == 8080)
            #expect(svc.string("spec.ports.0.name") == "80-8080")
            #expect(svc.string("spec.selector.app") == "web")
            #expect(svc.string("spec.clusterIP")?.isEmpty == false)

            let nodePort = try await kubectl("create", "service", "nodeport", "np", "-n", "pb", "--tcp=80:8080")
            #expect(nodePort.status == 0, "\(nodePort.err)")
            #expect(try await object("service", "np", "-n", "pb").number("spec.ports.0.nodePort") != nil)

            let ingress = try await kubectl(
                "create", "ingress", "ing", "-n", "pb", "--rule=example.com/*=web:80", "--class=weft")
            #expect(ingress.status == 0, "\(ingress.err)")
            let ing = try await object("ingress", "ing", "-n", "pb")
            #expect(ing.string("spec.ingressClassName") == "weft")
            #expect(ing.string("spec.rules.0.http.paths.0.backend.service.name") == "web")

            // The same name again: the server's own answer, not a decoding error.
            let again = try await kubectl("create", "configmap", "c", "-n", "pb", "--from-literal=a=b")
            #expect(again.status != 0)
            #expect(again.err.contains(#"configmaps "c" already exists"#), "\(again.err)")
        }
    }
}
