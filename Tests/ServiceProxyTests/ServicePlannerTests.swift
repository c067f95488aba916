import KubeModel
import Testing
import WeftNet

@testable import ServiceProxy

/// Services and EndpointSlices → one plan per service port and family.
struct ServicePlannerTests {
    static func decode<T: KubeObject>(_ yaml: String, as type: T.Type = T.self) throws -> T {
        try Manifest.decode(try #require(try Manifest.decodeDocuments(yaml).first))
    }

    static let node = ProxyNode(name: "node-1", zone: "a", nodePortAddresses: [IPAddress("198.18.0.10")!])

    static let web = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          type: LoadBalancer
          clusterIP: 10.96.0.20
          clusterIPs: [10.96.0.20, "fd00:10:96::20"]
          ipFamilies: [IPv4, IPv6]
          ports:
          - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
          - {name: dns, port: 53, protocol: UDP, nodePort: 30053}
          - {name: dns-tcp, port: 53, protocol: TCP, nodePort: 40000}
          externalIPs: [192.0.2.7, "2001:db8::7"]
          loadBalancerSourceRanges: [203.0.113.0/24]
          sessionAffinity: ClientIP
          sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
          externalTrafficPolicy: Local
          healthCheckNodePort: 31999
        status:
          loadBalancer: {ingress: [{ip: 198.51.100.9}, {ip: 10.96.0.99}]}
        """

    static let db = """
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: shop}
        spec: {clusterIP: 10.96.0.99, ports: [{port: 5432}]}
        """

    static let slice4 = """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: 8080}, {name: dns, port: 5353, protocol: UDP}]
        endpoints:
        - {addresses: [10.244.0.5], nodeName: node-1, conditions: {ready: true}}
        - {addresses: [10.244.1.5], nodeName: node-2, conditions: {ready: false, serving: true, terminating: true}}
        - {addresses: ["fd00::1"], nodeName: node-2}
        - {addresses: [10.244.2.5], nodeName: node-3}
        """

    @Test func everyPortAndFamilyWithItsFrontends() throws {
        let services = [try Self.decode(Self.web, as: Service.self), try Self.decode(Self.db, as: Service.self)]
        let slices = [try Self.decode(Self.slice4, as: EndpointSlice.self)]
        let result = ServicePlanner(node: Self.node).plan(services: services, slices: slices)
        #expect(
            result.plans.map(\.key.description) == [
                "shop/db/TCP/v4", "shop/web:http/TCP/v4", "shop/web:dns/UDP/v4", "shop/web:dns-tcp/TCP/v4",
                "shop/web:http/TCP/v6", "shop/web:dns/UDP/v6", "shop/web:dns-tcp/TCP/v6",
            ])
        let http = try #require(result.plans.first { $0.key.description == "shop/web:http/TCP/v4" })
        #expect(http.clusterIP == IPAddress("10.96.0.20") && http.port == 80 && http.nodePort == 30080)
        #expect(http.externalIPs == [IPAddress("192.0.2.7")!])
        #expect(http.loadBalancerIPs == [IPAddress("198.51.100.9")!])
        #expect(http.loadBalancerSourceRanges == [IPPrefix("203.0.113.0/24")!])
        #expect(http.affinityTimeoutSeconds == 60 && http.externalPolicyLocal && http.healthCheckNodePort == 31999)
        #expect(http.endpoints.map(\.description) == ["10.244.0.5:8080", "10.244.1.5:8080", "10.244.2.5:8080"])
        #expect(http.endpoints.map(\.isLocal) == [true, false, false])
        #expect(http.endpoints[1].terminating && !http.endpoints[1].ready)
        let dns = try #require(result.plans.first { $0.key.description == "shop/web:dns/UDP/v4" })
        #expect(dns.endpoints.map(\.port) == [5353, 5353, 5353])
        // The TCP twin of a UDP port has no endpoint port of its own in the slice.
        #expect(result.plans.first { $0.key.description == "shop/web:dns-tcp/TCP/v4" }?.endpoints.isEmpty == true)
        #expect(result.plans.first { $0.key.description == "shop/web:http/TCP/v6" }?.loadBalancerSourceRanges == [])

        #expect(
            result.skipped.map(\.description).sorted() == [
                "shop/web: endpoint address \"fd00::1\" is not an IPv4 address",
                "shop/web: load-balancer IP 10.96.0.99 is also a cluster IP",
                "shop/web: node port 40000 is outside 30000-32767",
            ])
    }

    @Test func headlessExternalNameAndDefaults() throws {
        let headless = try Self.decode(
            "apiVersion: v1\nkind: Service\nmetadata: {name: h}\nspec: {clusterIP: None, ports: [{port: 80}]}",
            as: Service.self)
        let external = try Self.decode(
            "apiVersion: v1\nkind: Service\nmetadata: {name: e}\nspec: {type: ExternalName, externalName: x.example}",
            as: Service.self)
        let plain = try Self.decode(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: p}
            spec: {clusterIP: 10.96.0.5, sessionAffinity: ClientIP, externalTrafficPolicy: Local, ports: [{port: 80}]}
            """, as: Service.self)
        let result = ServicePlanner(node: Self.node).plan(services: [headless, external, plain], slices: [])
        #expect(result.plans.map(\.key.description) == ["default/p/TCP/v4"])
        // kube's default affinity timeout is 3 h; ETP Local means nothing without an external frontend.
        #expect(result.plans[0].affinityTimeoutSeconds == 10800 && !result.plans[0].externalPolicyLocal)
        #expect(result.skipped.isEmpty)
    }

    @Test func duplicateAddressesKeepTheBestConditions() throws {
        let service = try Self.decode(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.96.0.5, ports: [{port: 80}]}",
            as: Service.self)
        func slice(_ name: String, ready: Bool) throws -> EndpointSlice {
            try Self.decode(
                """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: \(name), labels: {kubernetes.io/service-name: s}}
                addressType: IPv4
                ports: [{port: 8080}]
                endpoints: [{addresses: [10.244.0.9], conditions: {ready: \(ready)}}]
                """, as: EndpointSlice.self)
        }
        let result = ServicePlanner(node: Self.node).plan(
            services: [service], slices: [try slice("a", ready: false), try slice("b", ready: true)])
        #expect(result.plans[0].endpoints.count == 1 && result.plans[0].endpoints[0].ready)
    }
}

/// kube-proxy's endpoint categories: ready first, serving+terminating as a fallback, local for Local policies,
/// topology hints for PreferClose.
struct EndpointSelectionTests {
    static func endpoint(
        _ last: Int, local: Bool = false, ready: Bool = true, terminating: Bool = false, zones: Set<String> = []
    ) -> ServiceEndpoint {
        ServiceEndpoint(
            address: IPAddress("10.244.0.\(last)")!, port: 80, isLocal: local, ready: ready,
            serving: ready || terminating, terminating: terminating, zoneHints: zones)
    }

    static func plan(_ endpoints: [ServiceEndpoint], etpLocal: Bool = false, itpLocal: Bool = false) -> ServicePortPlan
    {
        var plan = ServicePortPlan(
            key: ServicePortKey(namespace: "n", name: "s", port: "", protocol: .tcp, family: .v4),
            clusterIP: IPAddress("10.96.0.1")!, port: 80)
        plan.endpoints = endpoints
        if etpLocal {
            plan.nodePort = 30000
            plan.externalPolicyLocal = true
        }
        plan.internalPolicyLocal = itpLocal
        return plan
    }

    @Test func readyFirstThenServingTerminating() {
        let mixed = Self.plan([Self.endpoint(1), Self.endpoint(2, ready: false, terminating: true)])
        #expect(
            EndpointSelection.select(mixed, zone: nil, preferClose: false).cluster.map(\.address.description) == [
                "10.244.0.1"
            ])
        let draining = Self.plan([Self.endpoint(2, ready: false, terminating: true), Self.endpoint(3, ready: false)])
        let selection = EndpointSelection.select(draining, zone: nil, preferClose: false)
        #expect(selection.cluster.map(\.address.description) == ["10.244.0.2"] && selection.hasAnyEndpoints)
        let none = EndpointSelection.select(Self.plan([Self.endpoint(3, ready: false)]), zone: nil, preferClose: false)
        #expect(none.cluster.isEmpty && !none.hasAnyEndpoints)
    }

    @Test func localPolicies() {
        let endpoints = [Self.endpoint(1, local: true), Self.endpoint(2), Self.endpoint(3, local: true, ready: false)]
        let etp = EndpointSelection.select(Self.plan(endpoints, etpLocal: true), zone: nil, preferClose: false)
        #expect(etp.local.map(\.address.description) == ["10.244.0.1"])
        #expect(etp.cluster.count == 2, "cluster-IP traffic still uses every ready endpoint")
        let itp = EndpointSelection.select(Self.plan([Self.endpoint(2)], itpLocal: true), zone: nil, preferClose: false)
        #expect(
            itp.cluster.isEmpty && itp.local.isEmpty && itp.hasAnyEndpoints, "endpoints elsewhere: drop, not reject")
        let draining = EndpointSelection.select(
            Self.plan([Self.endpoint(4, local: true, ready: false, terminating: true)], itpLocal: true),
            zone: nil, preferClose: false)
        #expect(draining.local.map(\.address.description) == ["10.244.0.4"])
    }

    @Test func topologyHintsOnlyWhenEveryReadyEndpointHasThem() {
        let hinted = [Self.endpoint(1, zones: ["a"]), Self.endpoint(2, zones: ["b"])]
        #expect(EndpointSelection.select(Self.plan(hinted), zone: "a", preferClose: true).cluster.count == 1)
        #expect(EndpointSelection.select(Self.plan(hinted), zone: "a", preferClose: false).cluster.count == 2)
        #expect(EndpointSelection.select(Self.plan(hinted), zone: "c", preferClose: true).cluster.count == 2)
        #expect(EndpointSelection.select(Self.plan(hinted), zone: nil, preferClose: true).cluster.count == 2)
        let partly = hinted + [Self.endpoint(3)]
        #expect(EndpointSelection.select(Self.plan(partly), zone: "a", preferClose: true).cluster.count == 3)
    }
}

/// Buckets spread connections exactly evenly up to 64 endpoints, within ±20 % of even up to 1,000.
struct BucketTableTests {
    @Test func sizes() {
        #expect(BucketTable.size(forEndpoints: 0) == 1)
        #expect(BucketTable.size(forEndpoints: 3) == 3)
        #expect(BucketTable.size(forEndpoints: 64) == 64)
        #expect(BucketTable.size(forEndpoints: 65) == 512)
        #expect(BucketTable.size(forEndpoints: 1000) == 8192)
        #expect(BucketTable.assignment(size: 3, endpoints: 3) == [0, 1, 2])
        #expect(BucketTable.assignment(size: 16, endpoints: 3).prefix(5) == [0, 1, 2, 0, 1])
        #expect(BucketTable.assignment(size: 16, endpoints: 0).isEmpty)
        #expect((1...1000).allSatisfy { BucketTable.widths.contains(BucketTable.size(forEndpoints: $0)) })
        #expect(BucketTable.relativeShares(endpoints: 50).allSatisfy { $0 == 1 })
    }

    @Test func everyEndpointWithinTwentyPercentOfEven() {
        for endpoints in 1...1000 {
            let shares = BucketTable.relativeShares(endpoints: endpoints)
            #expect(
                shares.allSatisfy { $0 >= 0.8 && $0 <= 1.2 },
                "\(endpoints) endpoints: \(shares.min()!)–\(shares.max()!)")
        }
    }
}
