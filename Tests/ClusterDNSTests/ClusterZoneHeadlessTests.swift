import DNS
import KubeModel
import Testing
import WeftNet

@testable import ClusterDNS

/// Specification §2.4 (schema 1.1.0): headless Services.
struct ClusterZoneHeadlessTests {
    /// Three endpoints (two with hostnames, one without), one not ready, an IPv6 slice beside.
    static let db = """
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: data}
        spec: {clusterIP: None, ports: [{name: pg, port: 5432}, {name: metrics, port: 9187}, {port: 1}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: db-4, namespace: data, labels: {kubernetes.io/service-name: db}}
        addressType: IPv4
        ports: [{name: pg, port: 15432}, {name: metrics, port: 9187}, {port: 1}]
        endpoints:
        - {addresses: [10.244.1.5], hostname: db-0, conditions: {ready: true}}
        - {addresses: [10.244.2.6], hostname: db-1}
        - {addresses: [10.244.3.7], conditions: {ready: true}}
        - {addresses: [10.244.4.8], hostname: db-2, conditions: {ready: false}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: db-6, namespace: data, labels: {kubernetes.io/service-name: db}}
        addressType: IPv6
        ports: [{name: pg, port: 15432}]
        endpoints:
        - {addresses: ["fd00:244:1::5"], hostname: db-0}
        - {addresses: ["fd00:244:3::7"]}
        """

    /// §2.4.1: the Service's name has an A/AAAA per ready endpoint address; each hostname its own addresses (both
    /// families under one hostname); an endpoint without a hostname gets its dashed address (CoreDNS).
    @Test func addressRecordsPerReadyEndpoint() throws {
        let zone = try ZoneTest.zone(Self.db)
        #expect(
            ZoneTest.answers(zone, "db.data.svc.cluster.local", .a) == [
                "db.data.svc.cluster.local. 30 A 10.244.1.5", "db.data.svc.cluster.local. 30 A 10.244.2.6",
                "db.data.svc.cluster.local. 30 A 10.244.3.7",
            ])
        #expect(
            ZoneTest.answers(zone, "db.data.svc.cluster.local", .aaaa) == [
                "db.data.svc.cluster.local. 30 AAAA fd00:244:1::5", "db.data.svc.cluster.local. 30 AAAA fd00:244:3::7",
            ])
        #expect(
            ZoneTest.answers(zone, "db-0.db.data.svc.cluster.local", .a) == [
                "db-0.db.data.svc.cluster.local. 30 A 10.244.1.5"
            ])
        #expect(
            ZoneTest.answers(zone, "db-0.db.data.svc.cluster.local", .aaaa) == [
                "db-0.db.data.svc.cluster.local. 30 AAAA fd00:244:1::5"
            ])
        #expect(
            ZoneTest.answers(zone, "10-244-3-7.db.data.svc.cluster.local", .a) == [
                "10-244-3-7.db.data.svc.cluster.local. 30 A 10.244.3.7"
            ])
        #expect(
            ZoneTest.answers(zone, "fd00-244-3--7.db.data.svc.cluster.local", .aaaa) == [
                "fd00-244-3--7.db.data.svc.cluster.local. 30 AAAA fd00:244:3::7"
            ])
        ZoneTest.expectNegative(zone, "db-1.db.data.svc.cluster.local", .aaaa, .noError)
        // The not-ready endpoint has no records at all.
        ZoneTest.expectNegative(zone, "db-2.db.data.svc.cluster.local", .a, .nxDomain)
        #expect(ZoneTest.ask(zone, "8.4.244.10.in-addr.arpa", .ptr) == .notInZone)
    }

    /// §2.4.2: N ready endpoints × M named ports: one SRV per endpoint and named port of the slice, targeting the
    /// endpoint's hostname, with the endpoint's port; CoreDNS's weights (100 / N); addresses in the additional
    /// section; none for the unnamed port.
    @Test func srvRecordsPerEndpointAndNamedPort() throws {
        let zone = try ZoneTest.zone(Self.db)
        let pg = ZoneTest.ask(zone, "_pg._tcp.db.data.svc.cluster.local", .srv)
        #expect(
            ZoneTest.text(pg.answers) == [
                "_pg._tcp.db.data.svc.cluster.local. 30 SRV 0 25 15432 db-0.db.data.svc.cluster.local.",
                "_pg._tcp.db.data.svc.cluster.local. 30 SRV 0 25 15432 db-1.db.data.svc.cluster.local.",
                "_pg._tcp.db.data.svc.cluster.local. 30 SRV 0 25 15432 10-244-3-7.db.data.svc.cluster.local.",
                "_pg._tcp.db.data.svc.cluster.local. 30 SRV 0 25 15432 fd00-244-3--7.db.data.svc.cluster.local.",
            ], "db-0 has two addresses but one SRV per target and port")
        #expect(
            Set(ZoneTest.text(pg.additional)) == [
                "db-0.db.data.svc.cluster.local. 30 A 10.244.1.5",
                "db-0.db.data.svc.cluster.local. 30 AAAA fd00:244:1::5",
                "db-1.db.data.svc.cluster.local. 30 A 10.244.2.6",
                "10-244-3-7.db.data.svc.cluster.local. 30 A 10.244.3.7",
                "fd00-244-3--7.db.data.svc.cluster.local. 30 AAAA fd00:244:3::7",
            ])
        #expect(
            ZoneTest.answers(zone, "_metrics._tcp.db.data.svc.cluster.local", .srv).map {
                $0.contains(" SRV 0 33 9187 ")
            }
                == [true, true, true])
        ZoneTest.expectNegative(zone, "_1._tcp.db.data.svc.cluster.local", .srv, .nxDomain)
    }

    /// §2.4.3: PTR of each ready endpoint address to its hostname, IPv4 and IPv6.
    @Test func reverseRecordsOfEndpoints() throws {
        let zone = try ZoneTest.zone(Self.db)
        #expect(
            ZoneTest.answers(zone, "5.1.244.10.in-addr.arpa", .ptr) == [
                "5.1.244.10.in-addr.arpa. 30 PTR db-0.db.data.svc.cluster.local."
            ])
        #expect(
            ZoneTest.answers(zone, "7.3.244.10.in-addr.arpa", .ptr) == [
                "7.3.244.10.in-addr.arpa. 30 PTR 10-244-3-7.db.data.svc.cluster.local."
            ])
        let v6 = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.0.d.f.ip6.arpa"
        #expect(ZoneTest.answers(zone, v6, .ptr) == ["\(v6). 30 PTR db-0.db.data.svc.cluster.local."])
    }

    /// §2.4.1: a headless Service without a ready endpoint is NXDOMAIN, with the SOA — and so are the names below.
    @Test func noReadyEndpointIsNXDOMAIN() throws {
        var zone = try ZoneTest.zone(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: db, namespace: data}
            spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}
            """)
        ZoneTest.expectNegative(zone, "db.data.svc.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "_pg._tcp.db.data.svc.cluster.local", .srv, .nxDomain)
        ZoneTest.expectNegative(zone, "data.svc.cluster.local", .a, .noError)
        try ZoneTest.apply(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: db-1, namespace: data, labels: {kubernetes.io/service-name: db}}
            addressType: IPv4
            ports: [{name: pg, port: 5432}]
            endpoints: [{addresses: [10.244.1.5], conditions: {ready: false}}]
            """, to: &zone)
        ZoneTest.expectNegative(zone, "db.data.svc.cluster.local", .a, .nxDomain)
        // An IPv4-only ready endpoint: the name exists, AAAA is NODATA.
        try ZoneTest.apply(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: db-1, namespace: data, labels: {kubernetes.io/service-name: db}}
            addressType: IPv4
            endpoints: [{addresses: [10.244.1.5]}]
            """, to: &zone)
        #expect(
            ZoneTest.answers(zone, "db.data.svc.cluster.local", .a) == ["db.data.svc.cluster.local. 30 A 10.244.1.5"])
        ZoneTest.expectNegative(zone, "db.data.svc.cluster.local", .aaaa, .noError)
        ZoneTest.expectNegative(zone, "_pg._tcp.db.data.svc.cluster.local", .srv, .nxDomain)
    }

    /// §2.1 _ready_: with `publishNotReadyAddresses` every endpoint counts as ready.
    @Test func publishNotReadyAddresses() throws {
        let zone = try ZoneTest.zone(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: peers, namespace: data}
            spec: {clusterIP: None, publishNotReadyAddresses: true, ports: [{name: gossip, port: 7946}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: peers-1, namespace: data, labels: {kubernetes.io/service-name: peers}}
            addressType: IPv4
            ports: [{name: gossip, port: 7946}]
            endpoints:
            - {addresses: [10.244.1.5], hostname: peer-0, conditions: {ready: false}}
            - {addresses: [10.244.2.5], hostname: peer-1, conditions: {ready: false, terminating: true}}
            """)
        #expect(ZoneTest.answers(zone, "peers.data.svc.cluster.local", .a).count == 2)
        #expect(
            ZoneTest.answers(zone, "peer-0.peers.data.svc.cluster.local", .a) == [
                "peer-0.peers.data.svc.cluster.local. 30 A 10.244.1.5"
            ])
        #expect(ZoneTest.answers(zone, "_gossip._tcp.peers.data.svc.cluster.local", .srv).count == 2)
        #expect(ZoneTest.answers(zone, "5.1.244.10.in-addr.arpa", .ptr).count == 1)
    }

    /// Pods with `hostname` and `subdomain` naming a headless Service of their namespace have
    /// `hostname.subdomain.NS.svc.ZONE` (Kubernetes' DNS for Pods) once ready — even outside the Service's
    /// endpoints; a subdomain naming a non-headless Service, or none, gives nothing.
    @Test func podHostnameAndSubdomain() throws {
        var zone = try ZoneTest.zone(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: workers, namespace: jobs}
            spec: {clusterIP: None}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: front, namespace: jobs}
            spec: {clusterIP: 10.96.1.1, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: w1, namespace: jobs}
            spec: {hostname: w-1, subdomain: workers, containers: [{name: c}]}
            status: {phase: Running, podIPs: [{ip: 10.244.1.9}, {ip: "fd00:244::9"}], conditions: [{type: Ready, status: "True"}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: w2, namespace: jobs}
            spec: {hostname: w-2, subdomain: workers, containers: [{name: c}]}
            status: {phase: Running, podIP: 10.244.1.10, conditions: [{type: Ready, status: "False"}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: f1, namespace: jobs}
            spec: {hostname: f-1, subdomain: front, containers: [{name: c}]}
            status: {phase: Running, podIP: 10.244.1.11, conditions: [{type: Ready, status: "True"}]}
            """)
        #expect(
            ZoneTest.answers(zone, "w-1.workers.jobs.svc.cluster.local", .a) == [
                "w-1.workers.jobs.svc.cluster.local. 30 A 10.244.1.9"
            ])
        #expect(
            ZoneTest.answers(zone, "w-1.workers.jobs.svc.cluster.local", .aaaa) == [
                "w-1.workers.jobs.svc.cluster.local. 30 AAAA fd00:244::9"
            ])
        ZoneTest.expectNegative(zone, "w-2.workers.jobs.svc.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "f-1.front.jobs.svc.cluster.local", .a, .nxDomain)
        // The Service's own name exists (a name below it does) but has no addresses without endpoints.
        ZoneTest.expectNegative(zone, "workers.jobs.svc.cluster.local", .a, .noError)
        // The pod becomes ready; then it moves to another subdomain.
        try ZoneTest.apply(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: w2, namespace: jobs}
            spec: {hostname: w-2, subdomain: workers, containers: [{name: c}]}
            status: {phase: Running, podIP: 10.244.1.10, conditions: [{type: Ready, status: "True"}]}
            """, to: &zone)
        #expect(ZoneTest.answers(zone, "w-2.workers.jobs.svc.cluster.local", .a).count == 1)
        zone.removePod(namespace: "jobs", name: "w1")
        ZoneTest.expectNegative(zone, "w-1.workers.jobs.svc.cluster.local", .a, .nxDomain)
        zone.removePod(namespace: "jobs", name: "w2")
        ZoneTest.expectNegative(zone, "workers.jobs.svc.cluster.local", .a, .nxDomain)
    }
}
