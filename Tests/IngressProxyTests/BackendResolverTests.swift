import KubeModel
import Testing
import WeftNet

@testable import IngressProxy

/// Service port (by number or name) → EndpointSlice port of the same name → ready pod addresses.
struct BackendResolverTests {
    static let yaml = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          ports:
          - {name: http, port: 80, targetPort: web}
          - {name: admin, port: 9000, targetPort: 9090}
          - {name: dns, port: 53, protocol: UDP}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-a, namespace: shop, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: 8080}, {name: admin, port: 9090}]
        endpoints:
        - {addresses: [10.0.0.2], conditions: {ready: true}}
        - {addresses: [10.0.0.1]}
        - {addresses: [10.0.0.3], conditions: {ready: false, serving: true, terminating: true}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-b, namespace: shop, labels: {kubernetes.io/service-name: web}}
        addressType: IPv6
        ports: [{name: http, port: 8081}]
        endpoints: [{addresses: ["fd00::5"], conditions: {ready: true}}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: other, namespace: elsewhere, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: 1}]
        endpoints: [{addresses: [10.9.9.9]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: unnamed, namespace: shop}
        spec: {ports: [{port: 80, targetPort: 3000}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: unnamed-1, namespace: shop, labels: {kubernetes.io/service-name: unnamed}}
        addressType: IPv4
        ports: [{port: 3000}]
        endpoints: [{addresses: [10.0.1.1]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: external, namespace: shop}
        spec: {type: ExternalName, externalName: example.com, ports: [{port: 80}]}
        """

    static func resolver() throws -> BackendResolver {
        let objects = try Fixtures.objects(yaml)
        return BackendResolver(services: objects.services, slices: objects.endpointSlices)
    }

    static func resolve(_ service: String, _ port: BackendResolver.PortSelector) throws -> String {
        switch try resolver().resolve(ObjectKey(namespace: "shop", name: service), port: port) {
        case .success(let endpoints): return endpoints.map(\.description).joined(separator: " ")
        case .failure(let failure): return "\(failure.kind): \(failure)"
        }
    }

    @Test func byNumberAndByNameGiveThePodPortsOfTheReadyEndpoints() throws {
        let expected = "10.0.0.1:8080 10.0.0.2:8080 [fd00::5]:8081"
        #expect(try Self.resolve("web", .number(80)) == expected)
        #expect(try Self.resolve("web", .name("http")) == expected)
        #expect(try Self.resolve("web", .name("admin")) == "10.0.0.1:9090 10.0.0.2:9090")
        #expect(try Self.resolve("unnamed", .number(80)) == "10.0.1.1:3000")
    }

    @Test func failuresSayWhy() throws {
        #expect(try Self.resolve("web", .number(8080)) == "notFound: service shop/web has no port 8080")
        #expect(try Self.resolve("web", .name("dns")) == "unsupported: port dns of service shop/web is UDP, not TCP")
        #expect(try Self.resolve("nope", .number(80)) == "notFound: service shop/nope not found")
        #expect(
            try Self.resolve("external", .number(80))
                == "unsupported: service shop/external is ExternalName, not supported")
        let resolver = BackendResolver(
            services: try Fixtures.objects(Self.yaml).services, slices: [])
        let result = resolver.resolve(ObjectKey(namespace: "shop", name: "web"), port: .number(80))
        #expect(
            result == .failure(BackendFailure(.noReadyEndpoints, "service shop/web port 80 has no ready endpoints")))
    }
}
