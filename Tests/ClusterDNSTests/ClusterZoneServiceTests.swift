import DNS
import KubeModel
import Testing
import WeftNet

@testable import ClusterDNS

/// Specification §2.2 and §2.3 (schema 1.1.0): the schema version, the apex, Services with a cluster IP.
struct ClusterZoneServiceTests {
    static let services = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          clusterIP: 10.96.0.5
          clusterIPs: [10.96.0.5, "fd00:96::5"]
          ipFamilies: [IPv4, IPv6]
          ports:
          - {name: http, port: 80}
          - {name: dns, port: 53, protocol: UDP}
          - {port: 8080}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: shop}
        spec: {clusterIP: 10.96.0.6, ports: [{port: 443}]}
        """

    /// §2.2: `dns-version.ZONE` TXT holds the schema version; the name has no other type.
    @Test func schemaVersionRecord() throws {
        let zone = try ZoneTest.zone("")
        #expect(
            ZoneTest.answers(zone, "dns-version.cluster.local", .txt) == [
                "dns-version.cluster.local. 30 TXT \"1.1.0\""
            ])
        ZoneTest.expectNegative(zone, "dns-version.cluster.local", .a, .noError)
    }

    /// The apex answers SOA and NS (CoreDNS); the name server `ns.dns.ZONE` has the configured addresses, in the
    /// additional section of the NS answer. `svc.ZONE` and `pod.ZONE` exist without data.
    @Test func apexSOAAndNS() throws {
        let configuration = ClusterZoneConfiguration(nameServerAddresses: [IPAddress("10.96.0.10")!])
        var zone = try ZoneTest.zone("", configuration: configuration)
        zone.serial = 7
        #expect(
            ZoneTest.answers(zone, "cluster.local", .soa) == [
                "cluster.local. 30 SOA ns.dns.cluster.local. hostmaster.cluster.local. 7 7200 1800 86400 30"
            ])
        let ns = ZoneTest.ask(zone, "cluster.local", .ns)
        #expect(ZoneTest.text(ns.answers) == ["cluster.local. 30 NS ns.dns.cluster.local."])
        #expect(ZoneTest.text(ns.additional) == ["ns.dns.cluster.local. 30 A 10.96.0.10"])
        #expect(ZoneTest.answers(zone, "ns.dns.cluster.local", .a) == ["ns.dns.cluster.local. 30 A 10.96.0.10"])
        ZoneTest.expectNegative(zone, "ns.dns.cluster.local", .aaaa, .noError)
        ZoneTest.expectNegative(zone, "cluster.local", .a, .noError)
        ZoneTest.expectNegative(zone, "svc.cluster.local", .a, .noError)
        ZoneTest.expectNegative(zone, "pod.cluster.local", .a, .noError)
        ZoneTest.expectNegative(zone, "google.com.cluster.local", .a, .nxDomain)
        #expect(ZoneTest.ask(zone, "cluster.local", .axfr).rcode == .refused)
    }

    /// §2.3.1: A for an IPv4 cluster IP, AAAA for an IPv6 one; a single-stack Service has NODATA for the other.
    @Test func clusterIPAddressRecordsByFamily() throws {
        let zone = try ZoneTest.zone(Self.services)
        #expect(
            ZoneTest.answers(zone, "web.shop.svc.cluster.local", .a) == ["web.shop.svc.cluster.local. 30 A 10.96.0.5"])
        #expect(
            ZoneTest.answers(zone, "web.shop.svc.cluster.local", .aaaa) == [
                "web.shop.svc.cluster.local. 30 AAAA fd00:96::5"
            ])
        #expect(
            ZoneTest.answers(zone, "api.shop.svc.cluster.local", .a) == ["api.shop.svc.cluster.local. 30 A 10.96.0.6"])
        ZoneTest.expectNegative(zone, "api.shop.svc.cluster.local", .aaaa, .noError)
        ZoneTest.expectNegative(zone, "api.shop.svc.cluster.local", .txt, .noError)
        #expect(ZoneTest.ask(zone, "web.shop.svc.cluster.local", .any).answers.count == 2)
    }

    /// §2.3.2: an SRV per named port targeting the Service's name, its addresses in the additional section;
    /// unnamed ports have none. The SRV name has no address records; `_proto` above it is an empty non-terminal.
    @Test func clusterIPSRVForNamedPortsOnly() throws {
        let zone = try ZoneTest.zone(Self.services)
        let srv = ZoneTest.ask(zone, "_http._tcp.web.shop.svc.cluster.local", .srv)
        #expect(
            ZoneTest.text(srv.answers) == [
                "_http._tcp.web.shop.svc.cluster.local. 30 SRV 0 100 80 web.shop.svc.cluster.local."
            ])
        #expect(
            ZoneTest.text(srv.additional) == [
                "web.shop.svc.cluster.local. 30 A 10.96.0.5", "web.shop.svc.cluster.local. 30 AAAA fd00:96::5",
            ])
        #expect(
            ZoneTest.answers(zone, "_dns._udp.web.shop.svc.cluster.local", .srv) == [
                "_dns._udp.web.shop.svc.cluster.local. 30 SRV 0 100 53 web.shop.svc.cluster.local."
            ])
        ZoneTest.expectNegative(zone, "_dns._tcp.web.shop.svc.cluster.local", .srv, .nxDomain)
        ZoneTest.expectNegative(zone, "_https._tcp.api.shop.svc.cluster.local", .srv, .nxDomain)
        ZoneTest.expectNegative(zone, "_http._tcp.web.shop.svc.cluster.local", .a, .noError)
        ZoneTest.expectNegative(zone, "_tcp.web.shop.svc.cluster.local", .srv, .noError)
        ZoneTest.expectNegative(zone, "http.tcp.web.shop.svc.cluster.local", .srv, .nxDomain)
    }

    /// §2.3.3: PTR for each cluster IP, IPv4 (`d.c.b.a.in-addr.arpa`) and IPv6 (32 nibbles in reverse).
    @Test func clusterIPReverseRecords() throws {
        let zone = try ZoneTest.zone(Self.services)
        #expect(
            ZoneTest.answers(zone, "5.0.96.10.in-addr.arpa", .ptr) == [
                "5.0.96.10.in-addr.arpa. 30 PTR web.shop.svc.cluster.local."
            ])
        let v6 = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa"
        #expect(ZoneTest.answers(zone, v6, .ptr) == ["\(v6). 30 PTR web.shop.svc.cluster.local."])
        #expect(
            ZoneTest.answers(zone, v6.uppercased(), .ptr) == ["\(v6.uppercased()). 30 PTR web.shop.svc.cluster.local."])
        ZoneTest.expectNegative(zone, "5.0.96.10.in-addr.arpa", .a, .noError, apex: "in-addr.arpa.")
        ZoneTest.expectNegative(zone, v6, .txt, .noError, apex: "ip6.arpa.")
        // Addresses the zone does not publish, and partial reverse names, are not the zone's: forwarded.
        #expect(ZoneTest.ask(zone, "9.0.96.10.in-addr.arpa", .ptr) == .notInZone)
        #expect(ZoneTest.ask(zone, "0.96.10.in-addr.arpa", .ptr) == .notInZone)
        #expect(ZoneTest.ask(zone, "in-addr.arpa", .soa) == .notInZone)
    }

    /// §2.1: comparisons are case-insensitive; the answer repeats the name as it was asked.
    @Test func namesAreCaseInsensitive() throws {
        let zone = try ZoneTest.zone(Self.services)
        #expect(
            ZoneTest.answers(zone, "WEB.Shop.SVC.Cluster.Local", .a) == ["WEB.Shop.SVC.Cluster.Local. 30 A 10.96.0.5"])
        #expect(ZoneTest.answers(zone, "_HTTP._Tcp.web.shop.svc.cluster.local", .srv).count == 1)
        #expect(ZoneTest.answers(zone, "DNS-Version.CLUSTER.local", .txt).count == 1)
        ZoneTest.expectNegative(zone, "SHOP.svc.cluster.local", .a, .noError)
    }

    /// NXDOMAIN vs NODATA, with the zone's SOA in both: an existing namespace is NODATA, an unknown namespace or
    /// Service NXDOMAIN (CoreDNS), and so is every name below a name that does not exist (RFC 8020).
    @Test func nxdomainAndNodata() throws {
        var zone = try ZoneTest.zone(Self.services)
        ZoneTest.expectNegative(zone, "shop.svc.cluster.local", .a, .noError)
        ZoneTest.expectNegative(zone, "nope.svc.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "nope.shop.svc.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "web.nope.svc.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "a.b.c.web.shop.svc.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "web.shop.cluster.local", .a, .nxDomain)
        // A Namespace object makes its names exist before anything is in it.
        try ZoneTest.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: empty}", to: &zone)
        ZoneTest.expectNegative(zone, "empty.svc.cluster.local", .a, .noError)
        ZoneTest.expectNegative(zone, "empty.pod.cluster.local", .a, .noError)
        zone.removeNamespace("empty")
        ZoneTest.expectNegative(zone, "empty.svc.cluster.local", .a, .nxDomain)
    }

    /// Names outside the zone are not answered: the server forwards them.
    @Test func namesOutsideTheZone() throws {
        let zone = try ZoneTest.zone(Self.services)
        #expect(ZoneTest.ask(zone, "example.com", .a) == .notInZone)
        #expect(ZoneTest.ask(zone, "local", .soa) == .notInZone)
        #expect(ZoneTest.ask(zone, ".", .ns) == .notInZone)
    }

    /// The configured zone name and TTL are what the records carry.
    @Test func configuredZoneAndTTL() throws {
        let configuration = ClusterZoneConfiguration(zone: DNSName("Kube.Example")!, ttl: 5)
        let zone = try ZoneTest.zone(Self.services, configuration: configuration)
        #expect(ZoneTest.answers(zone, "web.shop.svc.kube.example", .a) == ["web.shop.svc.kube.example. 5 A 10.96.0.5"])
        #expect(
            ZoneTest.answers(zone, "5.0.96.10.in-addr.arpa", .ptr) == [
                "5.0.96.10.in-addr.arpa. 5 PTR web.shop.svc.kube.example."
            ])
        ZoneTest.expectNegative(zone, "nope.shop.svc.kube.example", .a, .nxDomain, apex: "Kube.Example.")
        #expect(ZoneTest.ask(zone, "web.shop.svc.cluster.local", .a) == .notInZone)
    }
}
