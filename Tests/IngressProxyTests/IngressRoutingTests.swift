import KubeModel
import Testing
import WeftNet

@testable import IngressProxy

/// Ingress hosts, classes, default backends, missing backends, TLS and status.
struct IngressRoutingTests {
    static let hosts = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: hosts, namespace: shop, creationTimestamp: "2024-01-01T00:00:00Z"}
        spec:
          ingressClassName: weft
          rules:
          - host: foo.bar.com
            http: {paths: [{path: /app, pathType: Prefix, backend: {service: {name: exact, port: {number: 80}}}}]}
          - host: "*.bar.com"
            http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: wild, port: {name: http}}}}]}
          - http: {paths: [{path: /any, pathType: Prefix, backend: {service: {name: all, port: {number: 80}}}}]}
        """
        + Fixtures.service("exact", namespace: "shop", address: "10.1.0.1")
        + Fixtures.service("wild", namespace: "shop", address: "10.1.0.2")
        + Fixtures.service("all", namespace: "shop", address: "10.1.0.3")

    @Test func exactHostBeforeWildcardBeforeHostless() throws {
        let table = try Fixtures.table(Self.hosts)
        #expect(Fixtures.destination(table, Fixtures.request("/app/x", host: "FOO.bar.com:80")) == "shop/exact:80")
        #expect(Fixtures.destination(table, Fixtures.request("/x", host: "baz.bar.com")) == "shop/wild:http")
        // Two labels are not covered by the one-label wildcard: the host-less rule takes it.
        #expect(Fixtures.destination(table, Fixtures.request("/any", host: "a.baz.bar.com")) == "shop/all:80")
        #expect(Fixtures.destination(table, Fixtures.request("/any", host: "10.0.0.1")) == "shop/all:80")
        // A host with rules of its own does not fall through to the host-less rules.
        #expect(Fixtures.destination(table, Fixtures.request("/any", host: "foo.bar.com")) == "404")
        #expect(Fixtures.destination(table, Fixtures.request("/other", host: "x.y")) == "404")
    }

    @Test func servedOnTheIngressPortsOnly() throws {
        let table = try Fixtures.table(Self.hosts)
        let https = Fixtures.request("/app", host: "foo.bar.com", port: 443, scheme: .https)
        #expect(Fixtures.destination(table, https) == "shop/exact:80")
        #expect(Fixtures.destination(table, Fixtures.request("/app", host: "foo.bar.com", port: 8080)) == "404")
        #expect(table.listeners.map(\.port) == [80, 443])
    }

    @Test func decisionForwardsToTheReadyEndpoints() throws {
        let table = try Fixtures.table(Self.hosts)
        guard case .forward(let forward) = table.decide(Fixtures.request("/app?b=c", host: "foo.bar.com"), draw: 0)
        else {
            Issue.record("not forwarded")
            return
        }
        #expect(forward.endpoints.map(\.description) == ["10.1.0.1:8080"])
        #expect(forward.request.target == "/app?b=c")
        #expect(forward.request.host == "foo.bar.com")
        #expect(forward.source == .ingress(ObjectKey(namespace: "shop", name: "hosts"), rule: 0, path: 0))
        #expect(
            table.decide(Fixtures.request("/nothing", host: "x.y"), draw: 0)
                == .reject(status: 404, reason: "no route for http://x.y:80/nothing"))
    }

    static func classed(_ name: String, className: String?, annotation: String? = nil) -> String {
        """

        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: \(name)
          namespace: default
          annotations: {\(annotation.map { "kubernetes.io/ingress.class: \($0)" } ?? "")}
        spec:
          \(className.map { "ingressClassName: \($0)" } ?? "")
          rules:
          - host: \(name).test
            http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}

        """
    }

    @Test(arguments: [false, true])
    func classSelection(weftIsDefault: Bool) throws {
        let yaml =
            """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata: {name: weft, annotations: {ingressclass.kubernetes.io/is-default-class: "\(weftIsDefault)"}}
            spec: {controller: weft.dev/ingress}
            """
            + Self.classed("mine", className: "weft") + Self.classed("nginx", className: "nginx")
            + Self.classed("legacy", className: nil, annotation: "weft")
            + Self.classed("legacyother", className: nil, annotation: "nginx")
            + Self.classed("classless", className: nil)
        let table = try Fixtures.table(yaml)
        let expected = ["mine", "legacy"] + (weftIsDefault ? ["classless"] : [])
        #expect(Set(table.ingresses.map(\.name)) == Set(expected))
    }

    @Test func defaultBackendOfTheOldestIngressWins() throws {
        let yaml = """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: young, namespace: default, creationTimestamp: "2024-05-01T00:00:00Z"}
            spec: {ingressClassName: weft, defaultBackend: {service: {name: b, port: {number: 80}}}}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: old, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
            spec: {ingressClassName: weft, defaultBackend: {service: {name: a, port: {number: 80}}}}
            """
            + Fixtures.service("a", address: "10.0.0.1") + Fixtures.service("b", address: "10.0.0.2")
        let table = try Fixtures.table(yaml)
        #expect(Fixtures.destination(table, Fixtures.request("/whatever", host: "any.host")) == "default/a:80")
        #expect(
            table.skipped.map(\.description) == [
                "ingress/default/young: defaultBackend ignored: "
                    + "ingress/default/old defaultBackend already provides the default backend"
            ])
    }

    @Test func missingServicePortOrEndpointsIs503AndOtherRoutesWork() throws {
        let yaml = """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: broken, namespace: default}
            spec:
              ingressClassName: weft
              rules:
              - http:
                  paths:
                  - {path: /gone, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
                  - {path: /port, pathType: Prefix, backend: {service: {name: ok, port: {name: grpc}}}}
                  - {path: /idle, pathType: Prefix, backend: {service: {name: idle, port: {number: 80}}}}
                  - {path: /res, pathType: Prefix, backend: {resource: {apiGroup: x.io, kind: Bucket, name: b}}}
                  - {path: /ok, pathType: Prefix, backend: {service: {name: ok, port: {number: 80}}}}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: idle, namespace: default}
            spec: {ports: [{port: 80}]}
            """ + Fixtures.service("ok", address: "10.0.0.1")
        let table = try Fixtures.table(yaml)
        func decide(_ path: String) -> RouteDecision { table.decide(Fixtures.request(path), draw: 0) }
        #expect(decide("/gone") == .reject(status: 503, reason: "service default/gone not found"))
        #expect(decide("/port") == .reject(status: 503, reason: "service default/ok has no port grpc"))
        #expect(decide("/idle") == .reject(status: 503, reason: "service default/idle port 80 has no ready endpoints"))
        #expect(decide("/res") == .reject(status: 503, reason: "resource backends are not supported"))
        guard case .forward(let forward) = decide("/ok") else {
            Issue.record("/ok not forwarded")
            return
        }
        #expect(forward.backend == "default/ok:80")
    }

    static let tls = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: tls, namespace: web}
        spec:
          ingressClassName: weft
          tls:
          - {hosts: [shop.example.com], secretName: shop-cert}
          - {hosts: ["*.example.com"], secretName: wild-cert}
          - {hosts: [broken.example.com], secretName: not-tls}
          - {hosts: [gone.example.com], secretName: missing}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: shop-cert, namespace: web}
        type: kubernetes.io/tls
        data: {tls.crt: Y2VydA==, tls.key: a2V5}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: wild-cert, namespace: web}
        type: kubernetes.io/tls
        data: {tls.crt: Y2VydA==, tls.key: a2V5}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: not-tls, namespace: web}
        type: Opaque
        data: {password: cGFzcw==}
        """

    @Test func sniPicksTheSecretExactThenWildcardElseTheDefault() throws {
        let table = try Fixtures.table(Self.tls)
        func secret(_ name: String?) -> CertificateChoice { table.certificate(port: 443, serverName: name) }
        #expect(secret("shop.example.com") == .secret(ObjectKey(namespace: "web", name: "shop-cert")))
        #expect(secret("SHOP.example.com.") == .secret(ObjectKey(namespace: "web", name: "shop-cert")))
        #expect(secret("blog.example.com") == .secret(ObjectKey(namespace: "web", name: "wild-cert")))
        // The invalid secrets are skipped: their hosts fall to the wildcard, other names to the default.
        #expect(secret("broken.example.com") == .secret(ObjectKey(namespace: "web", name: "wild-cert")))
        #expect(secret("a.b.example.com") == .default)
        #expect(secret(nil) == .default)
        #expect(table.certificate(port: 80, serverName: "shop.example.com") == .default)
        #expect(
            table.skipped.map(\.reason) == [
                "tls 2: secret web/not-tls is of type Opaque, not kubernetes.io/tls; "
                    + "its hosts get the default certificate",
                "tls 3: secret web/missing not found; its hosts get the default certificate",
            ])
    }

    @Test func statusListsTheProxyAddresses() throws {
        let table = try Fixtures.table(Self.hosts)
        let statuses = table.ingressStatuses(addresses: ["192.0.2.10", "fd00::10", "proxy.example.net"])
        let status = try #require(statuses[ObjectKey(namespace: "shop", name: "hosts")])
        let ingress = status.loadBalancer?.ingress ?? []
        #expect(ingress.map(\.ip) == ["192.0.2.10", "fd00::10", nil])
        #expect(ingress.map(\.hostname) == [nil, nil, "proxy.example.net"])
    }
}
