import Foundation
import KubeClient
import Testing

@Suite("kubeconfig")
struct KubeConfigTests {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
    static let certPEM = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n"
    static let keyPEM = "-----BEGIN EC PRIVATE KEY-----\nKEY\n-----END EC PRIVATE KEY-----\n"

    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    @Test func dataFieldsAndCurrentContext() throws {
        let yaml = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: lab
              cluster:
                server: https://127.0.0.1:6443/
                certificate-authority-data: \(Self.b64(Self.caPEM))
                tls-server-name: kube.lab
            users:
            - name: admin
              user:
                client-certificate-data: \(Self.b64(Self.certPEM))
                client-key-data: \(Self.b64(Self.keyPEM))
            contexts:
            - name: lab-admin
              context:
                cluster: lab
                user: admin
                namespace: weft-system
            current-context: lab-admin
            """
        let config = try KubeConfig.parse(yaml: yaml, file: "/x/config")
        #expect(config.contextNames == ["lab-admin"])
        let c = try config.clientConfiguration()
        #expect(c.server == "https://127.0.0.1:6443")
        #expect(c.certificateAuthorityPEM == Array(Self.caPEM.utf8))
        #expect(c.clientCertificatePEM == Array(Self.certPEM.utf8))
        #expect(c.clientKeyPEM == Array(Self.keyPEM.utf8))
        #expect(c.tlsServerName == "kube.lab")
        #expect(c.namespace == "weft-system")
        #expect(c.credentials == .none)
        #expect(c.insecureSkipTLSVerify == false)
        #expect(c.userAgent == "weft/0.1")
    }

    @Test func fileFieldsResolvedAgainstTheConfigDirectory() async throws {
        try await withTempDirectory { dir in
            _ = try dir.write("ca.crt", Self.caPEM)
            _ = try dir.write("client.crt", Self.certPEM)
            _ = try dir.write("client.key", Self.keyPEM)
            _ = try dir.write("token", "  secret-token\n")
            let path = try dir.write(
                "config",
                """
                clusters:
                - name: a
                  cluster:
                    server: https://a.example:443
                    certificate-authority: ca.crt
                - name: b
                  cluster:
                    server: http://127.0.0.1:8080
                    insecure-skip-tls-verify: true
                users:
                - name: certs
                  user:
                    client-certificate: client.crt
                    client-key: \(dir.path)/client.key
                - name: file-token
                  user:
                    tokenFile: token
                - name: token
                  user:
                    token: abc
                    tokenFile: ignored-when-token-is-set
                contexts:
                - name: one
                  context: {cluster: a, user: certs}
                - name: two
                  context: {cluster: b, user: file-token, namespace: ""}
                - name: three
                  context: {cluster: b, user: token}
                current-context: two
                """)
            let config = try KubeConfig.load(path: path)
            let one = try config.clientConfiguration(context: "one")
            #expect(one.certificateAuthorityPEM == Array(Self.caPEM.utf8))
            #expect(one.clientCertificatePEM == Array(Self.certPEM.utf8))
            #expect(one.clientKeyPEM == Array(Self.keyPEM.utf8))
            #expect(one.namespace == "default")
            let two = try config.clientConfiguration()
            #expect(two.server == "http://127.0.0.1:8080")
            #expect(two.insecureSkipTLSVerify)
            #expect(two.credentials == .tokenFile(dir.path + "/token"))
            #expect(two.namespace == "default")
            #expect(try config.clientConfiguration(context: "three").credentials == .token("abc"))
        }
    }

    @Test func loadHonoursKUBECONFIGThenHome() async throws {
        try await withTempDirectory { dir in
            let first = try dir.write(
                "first",
                """
                clusters: [{name: c, cluster: {server: "https://first:1"}}]
                contexts: [{name: x, context: {cluster: c}}]
                current-context: x
                """)
            let second = try dir.write(
                "second",
                """
                clusters: [{name: c, cluster: {server: "https://second:2"}}, {name: d, cluster: {server: "https://d:3"}}]
                contexts: [{name: y, context: {cluster: d}}]
                current-context: y
                """)
            let merged = try KubeConfig.load(environment: ["KUBECONFIG": "\(dir.path)/missing:\(first):\(second)"])
            #expect(try merged.clientConfiguration().server == "https://first:1")
            #expect(try merged.clientConfiguration(context: "y").server == "https://d:3")
            #expect(merged.files == [first, second])

            try FileManager.default.createDirectory(atPath: dir.path + "/.kube", withIntermediateDirectories: true)
            _ = try dir.write(".kube/config", try String(contentsOfFile: second, encoding: .utf8))
            let home = try KubeConfig.load(environment: ["HOME": dir.path])
            #expect(try home.clientConfiguration().server == "https://d:3")

            let error = #expect(throws: KubeConfigError.self) {
                try KubeConfig.load(environment: ["HOME": dir.path + "/nowhere"])
            }
            #expect(error?.kind == .noConfigFound)
            #expect(error?.file == dir.path + "/nowhere/.kube/config")
        }
    }

    /// Each broken file gives an error of the right kind naming the file and the field.
    @Test(
        arguments: [
            (
                "clusters: [{name: c}]\ncontexts: [{name: x, context: {cluster: c}}]", "x",
                KubeConfigError.Kind.missingField, "clusters[0].cluster"
            ),
            (
                "clusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: c}}]", "x", .missingField,
                "clusters[0].cluster.server"
            ),
            (
                "clusters: [{name: c, cluster: {server: ftp://x}}]\ncontexts: [{name: x, context: {cluster: c}}]", "x",
                .invalidValue, "clusters[0].cluster.server"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '@@'}}]\ncontexts: [{name: x, context: {cluster: c}}]",
                "x", .invalidValue, "clusters[0].cluster.certificate-authority-data"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority: /nonexistent/ca.crt}}]\ncontexts: [{name: x, context: {cluster: c}}]",
                "x", .unreadableFile, "clusters[0].cluster.certificate-authority"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://x'}}]\ncontexts: [{name: x, context: {cluster: nope}}]",
                "x", .clusterNotFound, "contexts[0].context.cluster"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://x'}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]",
                "x", .userNotFound, "contexts[0].context.user"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {client-certificate-data: \(b64(certPEM))}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]",
                "x", .missingField, "users[0].user.client-key"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]",
                "x", .invalidValue, "users[0].user.exec"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {tokenFile: /nonexistent/token}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]",
                "x", .unreadableFile, "users[0].user.tokenFile"
            ),
            ("clusters: [{cluster: {server: 'https://x'}}]", "x", .missingField, "clusters[0].name"),
            (
                "clusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: maybe}}]", "x",
                .malformed, "clusters[0].cluster.insecure-skip-tls-verify"
            ),
            ("clusters: {name: c}", "x", .malformed, "clusters"),
            ("contexts: [{name: x, context: {cluster: c}}]", "y", .contextNotFound, nil),
            ("contexts: [{name: x, context: {cluster: c}}]", "", .contextNotFound, "current-context"),
        ] as [(String, String, KubeConfigError.Kind, String?)])
    func errorsNameFileAndField(yaml: String, context: String, kind: KubeConfigError.Kind, field: String?) throws {
        let error = #expect(throws: KubeConfigError.self) {
            let config = try KubeConfig.parse(yaml: yaml, file: "/etc/weft/kubeconfig")
            _ = try config.clientConfiguration(context: context.isEmpty ? nil : context)
        }
        #expect(error?.kind == kind, "\(String(describing: error))")
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.file == "/etc/weft/kubeconfig")
        #expect(error?.description.hasPrefix("/etc/weft/kubeconfig: ") == true)
    }

    @Test func invalidYAMLIsMalformed() {
        let error = #expect(throws: KubeConfigError.self) {
            try KubeConfig.parse(yaml: "clusters: [unclosed", file: "/k")
        }
        #expect(error?.kind == .malformed)
        #expect(error?.file == "/k")
    }

    @Test func missingFileIsNamed() {
        let error = #expect(throws: KubeConfigError.self) { try KubeConfig.load(path: "/nonexistent/kubeconfig") }
        #expect(error?.kind == .unreadableFile)
        #expect(error?.file == "/nonexistent/kubeconfig")
    }
}

@Suite("in-cluster configuration")
struct InClusterConfigTests {
    static let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]

    @Test func readsServiceAccount() async throws {
        try await withTempDirectory { dir in
            _ = try dir.write("token", "sa-token\n")
            _ = try dir.write("ca.crt", KubeConfigTests.caPEM)
            _ = try dir.write("namespace", "weft-system\n")
            let c = try ClientConfiguration.inCluster(environment: Self.env, directory: dir.path)
            #expect(c.server == "https://10.96.0.1:443")
            #expect(c.credentials == .tokenFile(dir.path + "/token"))
            #expect(c.certificateAuthorityPEM == Array(KubeConfigTests.caPEM.utf8))
            #expect(c.namespace == "weft-system")

            let v6 = try ClientConfiguration.inCluster(
                environment: ["KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "6443"],
                directory: dir.path)
            #expect(v6.server == "https://[fd00:10:96::1]:6443")
        }
    }

    @Test func namespaceFileIsOptional() async throws {
        try await withTempDirectory { dir in
            _ = try dir.write("token", "t")
            _ = try dir.write("ca.crt", KubeConfigTests.caPEM)
            #expect(
                try ClientConfiguration.inCluster(environment: Self.env, directory: dir.path).namespace == "default")
        }
    }

    @Test func errors() async throws {
        try await withTempDirectory { dir in
            var error = #expect(throws: KubeConfigError.self) {
                try ClientConfiguration.inCluster(environment: [:], directory: dir.path)
            }
            #expect(error?.kind == .notInCluster)
            #expect(error?.field == "KUBERNETES_SERVICE_HOST")

            error = #expect(throws: KubeConfigError.self) {
                try ClientConfiguration.inCluster(
                    environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "https"],
                    directory: dir.path)
            }
            #expect(error?.kind == .invalidValue)

            error = #expect(throws: KubeConfigError.self) {
                try ClientConfiguration.inCluster(environment: Self.env, directory: dir.path)
            }
            #expect(error?.kind == .unreadableFile)
            #expect(error?.file == dir.path + "/token")

            _ = try dir.write("token", "t")
            error = #expect(throws: KubeConfigError.self) {
                try ClientConfiguration.inCluster(environment: Self.env, directory: dir.path)
            }
            #expect(error?.file == dir.path + "/ca.crt")
        }
    }
}
