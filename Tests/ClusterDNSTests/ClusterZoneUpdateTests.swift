import DNS
import KubeModel
import Testing
import WeftNet

@testable import ClusterDNS

/// Changes applied one object at a time give the zone a fresh build from the same objects gives.
struct ClusterZoneUpdateTests {
    static func service(_ name: String, _ clusterIP: String, namespace: String = "n") throws -> Service {
        try ZoneTest.object(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: \(name), namespace: \(namespace)}
            spec: {clusterIP: \(clusterIP), ports: [{name: http, port: 80}]}
            """)
    }

    static func slice(_ name: String, service: String, _ addresses: [String]) throws -> EndpointSlice {
        let endpoints = addresses.map { "{addresses: [\($0)]}" }.joined(separator: ", ")
        return try ZoneTest.object(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: \(name), namespace: n, labels: {kubernetes.io/service-name: \(service)}}
            addressType: IPv4
            ports: [{name: http, port: 8080}]
            endpoints: [\(endpoints)]
            """)
    }

    /// A changed cluster IP replaces the A and PTR records; a removed Service leaves nothing, not even its
    /// namespace; the serial moves on.
    @Test func changeAndRemoveAService() throws {
        var zone = ClusterZone()
        zone.update(service: try Self.service("a", "10.96.0.1"))
        zone.update(service: try Self.service("b", "10.96.0.2"))
        let before = zone.serial
        zone.update(service: try Self.service("a", "10.96.0.9"))
        #expect(zone.serial != before)
        #expect(ZoneTest.answers(zone, "a.n.svc.cluster.local", .a) == ["a.n.svc.cluster.local. 30 A 10.96.0.9"])
        #expect(
            ZoneTest.answers(zone, "9.0.96.10.in-addr.arpa", .ptr) == [
                "9.0.96.10.in-addr.arpa. 30 PTR a.n.svc.cluster.local."
            ])
        #expect(ZoneTest.ask(zone, "1.0.96.10.in-addr.arpa", .ptr) == .notInZone)
        let unchanged = zone.serial
        zone.update(service: try Self.service("a", "10.96.0.9"))
        #expect(zone.serial == unchanged, "an unchanged object changes nothing")

        zone.remove(service: try Self.service("a", "10.96.0.9"))
        ZoneTest.expectNegative(zone, "a.n.svc.cluster.local", .a, .nxDomain)
        ZoneTest.expectNegative(zone, "_http._tcp.a.n.svc.cluster.local", .srv, .nxDomain)
        #expect(ZoneTest.ask(zone, "9.0.96.10.in-addr.arpa", .ptr) == .notInZone)
        #expect(ZoneTest.answers(zone, "b.n.svc.cluster.local", .a).count == 1)
        zone.removeService(namespace: "n", name: "b")
        ZoneTest.expectNegative(zone, "n.svc.cluster.local", .a, .nxDomain)
        #expect(zone.nameCount == 0)
    }

    /// A Service turned headless answers from its slices; slices come, change and go; a Service turned
    /// ExternalName keeps none of its address records.
    @Test func headlessSlicesComeAndGo() throws {
        var zone = ClusterZone()
        zone.update(slice: try Self.slice("h-1", service: "h", ["10.244.0.1", "10.244.0.2"]))
        ZoneTest.expectNegative(zone, "h.n.svc.cluster.local", .a, .nxDomain)  // No Service yet.
        zone.update(service: try Self.service("h", "None"))
        #expect(ZoneTest.answers(zone, "h.n.svc.cluster.local", .a).count == 2)
        zone.update(slice: try Self.slice("h-2", service: "h", ["10.244.0.3"]))
        #expect(ZoneTest.answers(zone, "h.n.svc.cluster.local", .a).count == 3)
        #expect(ZoneTest.answers(zone, "_http._tcp.h.n.svc.cluster.local", .srv).count == 3)
        zone.update(slice: try Self.slice("h-1", service: "h", ["10.244.0.1"]))
        #expect(ZoneTest.answers(zone, "h.n.svc.cluster.local", .a).count == 2)
        ZoneTest.expectNegative(zone, "10-244-0-2.h.n.svc.cluster.local", .a, .nxDomain)
        #expect(ZoneTest.ask(zone, "2.0.244.10.in-addr.arpa", .ptr) == .notInZone)
        // A slice relabelled to another Service leaves the first.
        zone.update(slice: try Self.slice("h-2", service: "other", ["10.244.0.3"]))
        #expect(ZoneTest.answers(zone, "h.n.svc.cluster.local", .a) == ["h.n.svc.cluster.local. 30 A 10.244.0.1"])
        zone.removeSlice(namespace: "n", name: "h-1")
        ZoneTest.expectNegative(zone, "h.n.svc.cluster.local", .a, .nxDomain)
        zone.update(
            service: try ZoneTest.object(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: h, namespace: n}
                spec: {type: ExternalName, externalName: example.com}
                """))
        zone.update(slice: try Self.slice("h-1", service: "h", ["10.244.0.1"]))
        #expect(
            ZoneTest.text(ZoneTest.ask(zone, "h.n.svc.cluster.local", .a).answers) == [
                "h.n.svc.cluster.local. 30 CNAME example.com."
            ])
        ZoneTest.expectNegative(zone, "10-244-0-1.h.n.svc.cluster.local", .a, .nxDomain)
    }

    /// Two Services publishing one address: both PTRs while both exist, one after either goes.
    @Test func sharedReverseNames() throws {
        var zone = ClusterZone()
        zone.update(service: try Self.service("x", "None"))
        zone.update(service: try Self.service("y", "None"))
        zone.update(slice: try Self.slice("x-1", service: "x", ["10.244.0.1"]))
        zone.update(slice: try Self.slice("y-1", service: "y", ["10.244.0.1"]))
        #expect(
            ZoneTest.answers(zone, "1.0.244.10.in-addr.arpa", .ptr) == [
                "1.0.244.10.in-addr.arpa. 30 PTR 10-244-0-1.x.n.svc.cluster.local.",
                "1.0.244.10.in-addr.arpa. 30 PTR 10-244-0-1.y.n.svc.cluster.local.",
            ])
        zone.removeService(namespace: "n", name: "x")
        #expect(
            ZoneTest.answers(zone, "1.0.244.10.in-addr.arpa", .ptr) == [
                "1.0.244.10.in-addr.arpa. 30 PTR 10-244-0-1.y.n.svc.cluster.local."
            ])
    }

    /// Random sequences of updates and removals end in the same index as building the survivors afresh.
    @Test func incrementalEqualsFresh() throws {
        var generator = SplitMix(seed: 6)
        for _ in 0..<20 {
            var zone = ClusterZone()
            var liveServices: [String: Service] = [:]
            var liveSlices: [String: EndpointSlice] = [:]
            for _ in 0..<40 {
                let name = "s\(generator.next() % 4)"
                switch generator.next() % 5 {
                case 0:
                    let ip = generator.next() % 2 == 0 ? "None" : "10.96.0.\(generator.next() % 4 + 1)"
                    let service = try Self.service(name, ip)
                    zone.update(service: service)
                    liveServices[name] = service
                case 1:
                    zone.removeService(namespace: "n", name: name)
                    liveServices[name] = nil
                case 2, 3:
                    let sliceName = "\(name)-\(generator.next() % 2)"
                    let addresses = (0..<(generator.next() % 3)).map { _ in "10.244.0.\(generator.next() % 5 + 1)" }
                    let slice = try Self.slice(sliceName, service: name, addresses)
                    zone.update(slice: slice)
                    liveSlices[sliceName] = slice
                default:
                    let sliceName = "\(name)-\(generator.next() % 2)"
                    zone.removeSlice(namespace: "n", name: sliceName)
                    liveSlices[sliceName] = nil
                }
            }
            var fresh = ClusterZone()
            for slice in liveSlices.values { fresh.update(slice: slice) }
            for service in liveServices.values { fresh.update(service: service) }
            #expect(zone.nameCount == fresh.nameCount)
            for name in ["s0", "s1", "s2", "s3"] {
                for question in ["\(name).n.svc.cluster.local", "_http._tcp.\(name).n.svc.cluster.local"] {
                    for type in [RecordType.a, .srv] {
                        var a = ZoneTest.ask(zone, question, type)
                        var b = ZoneTest.ask(fresh, question, type)
                        a.authority = []
                        b.authority = []
                        #expect(Set(a.answers) == Set(b.answers) && a.rcode == b.rcode, "\(question) \(type)")
                    }
                }
            }
            for last in 1...5 {
                let a = ZoneTest.ask(zone, "\(last).0.244.10.in-addr.arpa", .ptr)
                let b = ZoneTest.ask(fresh, "\(last).0.244.10.in-addr.arpa", .ptr)
                #expect(Set(a.answers) == Set(b.answers) && a.isInZone == b.isInZone)
            }
        }
    }
}

/// A small deterministic generator for the property test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
    }
}
