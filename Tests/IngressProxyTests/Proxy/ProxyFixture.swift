import Foundation
import KubeModel
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import IngressProxy

/// A proxy on 127.0.0.1 (HTTP and HTTPS on free ports, routed as 80 and 443) in front of `TestBackend`s, with
/// its own event loops; everything is closed and shut down when the body returns or throws.
struct ProxyFixture {
    let group: MultiThreadedEventLoopGroup
    let server: IngressProxyServer
    let backends: [TestBackend]
    let httpPort: Int
    let httpsPort: Int

    static func run(
        configuration: ProxyConfiguration = ProxyConfiguration(), backends names: [String],
        yaml: ([TestBackend]) throws -> String, _ body: (ProxyFixture) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var backends: [TestBackend] = []
        var server: IngressProxyServer?
        do {
            for name in names { backends.append(try await TestBackend.start(name, group: group)) }
            let objects = try Fixtures.objects(try yaml(backends))
            var logger = Logger(label: "weft.ingress.test")
            logger.logLevel = .warning
            let proxy = try IngressProxyServer(
                configuration: configuration, table: RouteTable(objects),
                certificates: certificates(objects.secrets), group: group, logger: logger)
            server = proxy
            let http = try await proxy.listen(ProxyListener(host: "127.0.0.1", port: 0, scheme: .http, routingPort: 80))
            let https = try await proxy.listen(
                ProxyListener(host: "127.0.0.1", port: 0, scheme: .https, routingPort: 443))
            try await body(
                ProxyFixture(group: group, server: proxy, backends: backends, httpPort: http, httpsPort: https))
        } catch {
            await cleanUp(server, backends, group)
            throw error
        }
        await cleanUp(server, backends, group)
    }

    private static func cleanUp(
        _ server: IngressProxyServer?, _ backends: [TestBackend], _ group: MultiThreadedEventLoopGroup
    ) async {
        try? await server?.shutdown()
        for backend in backends { await backend.close() }
        try? await group.shutdownGracefully()
    }

    static func certificates(_ secrets: [Secret]) -> [ObjectKey: TLSCertificate] {
        var certificates: [ObjectKey: TLSCertificate] = [:]
        for secret in secrets {
            if let certificate = try? TLSCertificate(secret: secret) {
                certificates[ObjectKey(secret.metadata)] = certificate
            }
        }
        return certificates
    }

    /// A table built from `yaml` with the same helpers.
    static func table(_ yaml: String) throws -> RouteTable { RouteTable(try Fixtures.objects(yaml)) }

    // MARK: - YAML

    /// Service `name` (port 80 named `http`) with one ready endpoint on 127.0.0.1 per port in `ports`, each in a
    /// slice of its own; `ready: false` makes them unready.
    static func service(_ name: String, ports: [Int], ready: Bool = true) -> String {
        var yaml = """

            ---
            apiVersion: v1
            kind: Service
            metadata: {name: \(name), namespace: default}
            spec: {ports: [{name: http, port: 80, targetPort: http}]}

            """
        for (index, port) in ports.enumerated() {
            yaml += """

                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: \(name)-\(index), namespace: default, labels: {kubernetes.io/service-name: \(name)}}
                addressType: IPv4
                ports: [{name: http, port: \(port), protocol: TCP}]
                endpoints: [{addresses: [127.0.0.1], conditions: {ready: \(ready)}}]

                """
        }
        return yaml
    }

    /// An Ingress of class `weft` with `rules` (host, path prefix, service) and TLS `tls` (host, secret).
    static func ingress(
        _ name: String, rules: [(host: String, path: String, service: String)],
        tls: [(host: String, secret: String)] = []
    ) -> String {
        var yaml = """

            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: \(name), namespace: default}
            spec:
              ingressClassName: weft

            """
        if !tls.isEmpty {
            yaml += "  tls:\n"
            for entry in tls { yaml += "  - {hosts: [\(entry.host)], secretName: \(entry.secret)}\n" }
        }
        yaml += "  rules:\n"
        for rule in rules {
            yaml += """
                  - host: \(rule.host)
                    http: {paths: [{path: \(rule.path), pathType: Prefix, backend: {service: {name: \(rule.service), port: {name: http}}}}]}

                """
        }
        return yaml
    }

    /// A kubernetes.io/tls Secret.
    static func tlsSecret(_ name: String, _ pem: (certificatePEM: String, keyPEM: String)) -> String {
        let certificate = Data(pem.certificatePEM.utf8).base64EncodedString()
        let key = Data(pem.keyPEM.utf8).base64EncodedString()
        return """

            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: \(name), namespace: default}
            type: kubernetes.io/tls
            data: {tls.crt: \(certificate), tls.key: \(key)}

            """
    }

    /// A port nothing listens on (bound, then closed).
    static func deadPort(group: any EventLoopGroup) async throws -> Int {
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}
