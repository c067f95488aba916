import DNS
import KubeModel
import Testing
import WeftNet

@testable import ClusterDNS

/// Specification §2.5 (ExternalName) and §2.6 (pod records).
struct ClusterZoneOtherRecordsTests {
    static let external = """
        apiVersion: v1
        kind: Service
        metadata: {name: mail, namespace: ops}
        spec: {type: ExternalName, externalName: smtp.example.com}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: alias, namespace: ops}
        spec: {type: ExternalName, externalName: web.shop.svc.cluster.local.}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: dangling, namespace: ops}
        spec: {type: ExternalName, externalName: gone.shop.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: loop-a, namespace: ops}
        spec: {type: ExternalName, externalName: loop-b.ops.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: loop-b, namespace: ops}
        spec: {type: ExternalName, externalName: loop-a.ops.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: by-address, namespace: ops}
        spec: {type: ExternalName, externalName: 192.0.2.1}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec: {clusterIP: 10.96.0.5, ports: [{name: http, port: 80}]}
        """

    /// §2.5: the CNAME, for any type; a target outside the zone is the server's to resolve (`externalTarget`).
    @Test func externalNameIsACNAME() throws {
        let zone = try ZoneTest.zone(Self.external)
        let a = ZoneTest.ask(zone, "mail.ops.svc.cluster.local", .a)
        #expect(a.isInZone && a.authoritative && a.rcode == .noError && a.authority.isEmpty)
        #expect(ZoneTest.text(a.answers) == ["mail.ops.svc.cluster.local. 30 CNAME smtp.example.com."])
        #expect(a.externalTarget == DNSName("smtp.example.com"))
        let cname = ZoneTest.ask(zone, "mail.ops.svc.cluster.local", .cname)
        #expect(ZoneTest.text(cname.answers) == ["mail.ops.svc.cluster.local. 30 CNAME smtp.example.com."])
        #expect(cname.externalTarget == nil)
        #expect(ZoneTest.ask(zone, "mail.ops.svc.cluster.local", .mx).externalTarget == DNSName("smtp.example.com"))
        // Names below an ExternalName Service do not exist; an address is no CNAME target (CoreDNS).
        ZoneTest.expectNegative(zone, "_smtp._tcp.mail.ops.svc.cluster.local", .srv, .nxDomain)
        ZoneTest.expectNegative(zone, "by-address.ops.svc.cluster.local", .a, .nxDomain)
    }

    /// A target inside the zone is followed: the CNAME, then the target's records, the rcode and SOA of the last
    /// name (RFC 6604); a loop ends in SERVFAIL.
    @Test func externalNameInsideTheZoneIsFollowed() throws {
        let zone = try ZoneTest.zone(Self.external)
        #expect(
            ZoneTest.answers(zone, "alias.ops.svc.cluster.local", .a) == [
                "alias.ops.svc.cluster.local. 30 CNAME web.shop.svc.cluster.local.",
                "web.shop.svc.cluster.local. 30 A 10.96.0.5",
            ])
        let nodata = ZoneTest.ask(zone, "alias.ops.svc.cluster.local", .aaaa)
        #expect(nodata.rcode == .noError && nodata.answers.count == 1 && nodata.authority.count == 1)
        let nx = ZoneTest.ask(zone, "dangling.ops.svc.cluster.local", .a)
        #expect(nx.rcode == .nxDomain && ZoneTest.text(nx.answers).count == 1 && nx.authority.count == 1)
        let loop = ZoneTest.ask(zone, "loop-a.ops.svc.cluster.local", .a)
        #expect(loop.rcode == .servFail && loop.answers.count == ClusterZone.maxChain + 1)
    }

    static let pods = """
        apiVersion: v1
        kind: Pod
        metadata: {name: p1, namespace: apps}
        spec: {containers: [{name: c}]}
        status: {phase: Running, podIPs: [{ip: 10.244.1.5}, {ip: "fd00:244::5"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: done, namespace: apps}
        spec: {containers: [{name: c}]}
        status: {phase: Succeeded, podIP: 10.244.1.6}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: going, namespace: apps, deletionTimestamp: "2024-01-01T00:00:00Z"}
        spec: {containers: [{name: c}]}
        status: {phase: Running, podIP: 10.244.1.7}
        """

    /// §2.6: `a-b-c-d.NS.pod.ZONE` for the addresses of existing, live pods of that namespace (CoreDNS's `pods
    /// verified`); IPv6 with dashes for colons.
    @Test func podRecords() throws {
        let zone = try ZoneTest.zone(Self.pods)
        #expect(
            ZoneTest.answers(zone, "10-244-1-5.apps.pod.cluster.local", .a) == [
                "10-244-1-5.apps.pod.cluster.local. 30 A 10.244.1.5"
            ])
        ZoneTest.expectNegative(zone, "10-244-1-5.apps.pod.cluster.local", .aaaa, .noError)
        #expect(
            ZoneTest.answers(zone, "fd00-244--5.apps.pod.cluster.local", .aaaa) == [
                "fd00-244--5.apps.pod.cluster.local. 30 AAAA fd00:244::5"
            ])
        #expect(ZoneTest.answers(zone, "FD00-244-0-0-0-0-0-5.apps.pod.cluster.local", .aaaa).count == 1)
        ZoneTest.expectNegative(zone, "10-244-1-5.other.pod.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "10-244-1-6.apps.pod.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "10-244-1-7.apps.pod.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "10-244-1-99.apps.pod.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "x.10-244-1-5.apps.pod.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "apps.pod.cluster.local", .a, .noError)
        // Pod records are not reverse-mapped.
        #expect(ZoneTest.ask(zone, "5.1.244.10.in-addr.arpa", .ptr) == .notInZone)
    }

    @Test func podRecordsCanBeTurnedOff() throws {
        let zone = try ZoneTest.zone(Self.pods, configuration: ClusterZoneConfiguration(podRecords: false))
        ZoneTest.expectNegative(zone, "10-244-1-5.apps.pod.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "apps.pod.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "pod.cluster.local", .a, .noError)
    }
}
