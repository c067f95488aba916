import APIServer
import Foundation
import Testing

/// `kind: List` manifests (what `kubectl get -o yaml` prints) with kubectl's default validation, which for a List
/// is client-side, against the protobuf OpenAPI v2 document (see `OpenAPI`).
@Suite("kubectl List manifests", .enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
struct KubectlListTests {
    typealias Run = KubectlTests.Run

    /// Two ConfigMaps and a NetworkPolicy; the nulls are valid (a top-level field, a member of a free-form one).
    static let configMaps = """
        {"apiVersion": "v1", "kind": "List", "items": [
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": "default"},
           "data": {"a": "1"}},
          {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "two", "namespace": "default", "labels": {"app": "x"}, "creationTimestamp": null},
           "data": {"b": "2"}, "binaryData": null},
          {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": "deny", "namespace": "default"},
           "spec": {"podSelector": {}, "ingress": null, "policyTypes": ["Ingress"]}}
        ]}
        """

    /// A Namespace and a NetworkPolicy in it. (No nulls: kubectl's three-way patch sends an explicit null again
    /// on every apply when the server dropped the field, so the object would never be "unchanged".)
    static func namespaceAndPolicy(port: Int) -> String {
        """
        apiVersion: v1
        kind: List
        metadata:
          resourceVersion: ""
        items:
        - apiVersion: v1
          kind: Namespace
          metadata:
            name: lists
        - apiVersion: networking.k8s.io/v1
          kind: NetworkPolicy
          metadata:
            name: allow-web
            namespace: lists
          spec:
            podSelector:
              matchLabels:
                app: web
            policyTypes:
            - Ingress
            ingress:
            - ports:
              - port: \(port)
                protocol: TCP
        """
    }

    static func noValidationError(_ run: Run) -> Bool {
        !run.err.contains("validat") && !run.err.contains("openapi") && !run.err.contains("content type")
    }

    @Test func createListOfConfigMaps() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await KubectlTests.run(config, arguments) }
            let path = server.configuration.dataDir + "/configmaps.json"
            try Self.configMaps.write(toFile: path, atomically: true, encoding: .utf8)

            let create = try await kubectl("create", "-f", path)
            #expect(create.status == 0, "\(create.err)")
            #expect(Self.noValidationError(create), "\(create.err)")
            #expect(create.out.contains("configmap/one created"), "\(create.out)")
            #expect(create.out.contains("configmap/two created"), "\(create.out)")
            #expect(create.out.contains("networkpolicy.networking.k8s.io/deny created"), "\(create.out)")
            let names = try await kubectl("get", "configmaps", "one", "two", "-o", "jsonpath={.items[*].data}")
            #expect(names.status == 0, "\(names.err)")
            #expect(names.out == #"{"a":"1"} {"b":"2"}"#, "\(names.out)")

            // What `kubectl get -o yaml` prints (a v1 List with full objects) applies back.
            let listed = try await kubectl("get", "configmaps", "-o", "yaml")
            #expect(listed.status == 0, "\(listed.err)")
            #expect(listed.out.contains("kind: List"), "\(listed.out)")
            let listedPath = server.configuration.dataDir + "/listed.yaml"
            try listed.out.write(toFile: listedPath, atomically: true, encoding: .utf8)
            let reapply = try await kubectl("apply", "-f", listedPath)
            #expect(reapply.status == 0, "\(reapply.err)")
            #expect(Self.noValidationError(reapply), "\(reapply.err)")
            #expect(reapply.out.contains("configmap/one"), "\(reapply.out)")
        }
    }

    @Test func applyListOfNamespaceAndPolicy() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await KubectlTests.run(config, arguments) }
            let path = server.configuration.dataDir + "/list.yaml"

            try Self.namespaceAndPolicy(port: 80).write(toFile: path, atomically: true, encoding: .utf8)
            let apply1 = try await kubectl("apply", "-f", path)
            #expect(apply1.status == 0, "\(apply1.err)")
            #expect(Self.noValidationError(apply1), "\(apply1.err)")
            #expect(apply1.out.contains("namespace/lists created"), "\(apply1.out)")
            #expect(apply1.out.contains("networkpolicy.networking.k8s.io/allow-web created"), "\(apply1.out)")
            let port1 = try await kubectl(
                "get", "networkpolicy", "allow-web", "-n", "lists", "-o", "jsonpath={.spec.ingress[0].ports[0].port}")
            #expect(port1.status == 0, "\(port1.err)")
            #expect(port1.out == "80")

            try Self.namespaceAndPolicy(port: 8080).write(toFile: path, atomically: true, encoding: .utf8)
            let apply2 = try await kubectl("apply", "-f", path)
            #expect(apply2.status == 0, "\(apply2.err)")
            #expect(apply2.out.contains("namespace/lists unchanged"), "\(apply2.out)")
            #expect(apply2.out.contains("networkpolicy.networking.k8s.io/allow-web configured"), "\(apply2.out)")
            let port2 = try await kubectl(
                "get", "networkpolicy", "allow-web", "-n", "lists", "-o", "jsonpath={.spec.ingress[0].ports[0].port}")
            #expect(port2.out == "8080")

            let apply3 = try await kubectl("apply", "-f", path)
            #expect(apply3.status == 0, "\(apply3.err)")
            #expect(apply3.out.contains("networkpolicy.networking.k8s.io/allow-web unchanged"), "\(apply3.out)")
        }
    }

    /// An item of a kind the server does not serve: kubectl skips its client-side validation (no definition names
    /// the kind) and reports the missing mapping, as against kube-apiserver.
    @Test func unknownKindInList() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await KubectlTests.run(config, arguments) }
            let path = server.configuration.dataDir + "/unknown.json"
            try """
            {"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"},
               "spec": {"size": 3}}
            ]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            for verb in ["create", "apply"] {
                let run = try await kubectl(verb, "-f", path)
                #expect(run.status != 0, "\(verb): \(run.out)")
                #expect(
                    run.err.contains(#"no matches for kind "Widget" in version "example.com/v1""#),
                    "\(verb): \(run.err)")
                #expect(Self.noValidationError(run), "\(verb): \(run.err)")
            }
        }
    }

    /// An unknown top-level field of an item fails kubectl's client-side validation, naming the field, as against
    /// kube-apiserver; nothing is created.
    @Test func unknownFieldInListItem() async throws {
        try await withServer(tls: true, authentication: true) { server, _ in
            let config = server.kubeconfigPath
            func kubectl(_ arguments: String...) async throws -> Run { try await KubectlTests.run(config, arguments) }
            let path = server.configuration.dataDir + "/bogus.json"
            try """
            {"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bogus"}, "bogus": 1}
            ]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            let run = try await kubectl("create", "-f", path)
            #expect(run.status != 0, "\(run.out)")
            #expect(run.err.contains(#"unknown field "bogus""#), "\(run.err)")
            #expect(!run.err.contains("content type"), "\(run.err)")
            let get = try await kubectl("get", "configmap", "bogus")
            #expect(get.status != 0)
        }
    }
}
