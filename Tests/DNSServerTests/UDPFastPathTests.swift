import ClusterDNS
import DNS
import Foundation
import KubeModel
import NIOCore
import NIOPosix
import Testing
import WeftNet

@testable import DNSServer

/// The UDP fast path: what it sends from its answer cache must be, byte for byte, what the full path
/// (`DNSResponder.handle`) sends for the same datagram — whatever the id, flags, case, EDNS variant, zone changes
/// and malformed input.
struct UDPFastPathTests {
    static func objects<T: KubeObject>(_ yaml: String) throws -> [T] {
        try Manifest.decodeDocuments(yaml).map { try Manifest.decode($0) }
    }

    static func service(_ name: String, ip: String) throws -> Service {
        try objects(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: \(name), namespace: default}
            spec: {clusterIP: \(ip), clusterIPs: [\(ip)], ports: [{name: http, port: 80}]}
            """)[0]
    }

    /// A zone with `web` (ClusterIP), `many` (headless, 60 addresses: more than 512 bytes of answer) and an
    /// ExternalName.
    static func zones() throws -> ZoneStore {
        let zones = ZoneStore()
        let services: [Service] = try Self.objects(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: many, namespace: default}
            spec: {clusterIP: None, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: ext, namespace: default}
            spec: {type: ExternalName, externalName: example.org}
            """)
        let addresses = (1...60).map { "{addresses: [10.244.0.\($0)]}" }.joined(separator: ", ")
        let slices: [EndpointSlice] = try Self.objects(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: many-1, namespace: default, labels: {kubernetes.io/service-name: many}}
            addressType: IPv4
            ports: [{port: 80}]
            endpoints: [\(addresses)]
            """)
        let web = try service("web", ip: "10.96.0.5")
        zones.update { zone in
            zone.update(service: web)
            for service in services { zone.update(service: service) }
            for slice in slices { zone.update(slice: slice) }
        }
        return zones
    }

    static func query(
        _ name: String, _ type: RecordType = .a, id: UInt16 = 1, rd: Bool = true, cd: Bool = false, edns: EDNS? = nil,
        class: RecordClass = .in
    ) -> [UInt8] {
        DNSMessage(
            id: id, recursionDesired: rd, checkingDisabled: cd,
            questions: [Question(name: DNSName(name)!, type: type, class: `class`)], edns: edns
        ).encode()
    }

    static func full(_ responder: DNSResponder, _ query: [UInt8]) -> [UInt8]? {
        guard case .reply(let bytes) = responder.handle(query, transport: .udp) else { return nil }
        return bytes
    }

    /// The queries of the comparison: names in and out of the zone, types, case, EDNS variants, flags.
    static let variants: [[UInt8]] = {
        let cookie = EDNSOption(code: 10, data: Array(0..<8))
        var queries: [[UInt8]] = []
        for name in [
            "web.default.svc.cluster.local", "WEB.Default.svc.CLUSTER.local", "many.default.svc.cluster.local",
            "nope.default.svc.cluster.local", "default.svc.cluster.local", "cluster.local", "dns-version.cluster.local",
            "_http._tcp.web.default.svc.cluster.local", "5.0.96.10.in-addr.arpa", "ext.default.svc.cluster.local",
            "example.org",
        ] {
            for type in [RecordType.a, .aaaa, .srv, .txt, .ptr, .soa, .any, .axfr] {
                queries.append(query(name, type))
            }
            queries.append(query(name, edns: EDNS()))
            queries.append(query(name, edns: EDNS(udpPayloadSize: 512, dnssecOK: true)))
            queries.append(query(name, edns: EDNS(udpPayloadSize: 4096, options: [cookie])))
            queries.append(query(name, edns: EDNS(udpPayloadSize: 100)))
            queries.append(query(name, edns: EDNS(udpPayloadSize: 800)))
            queries.append(query(name, rd: false, cd: true))
            queries.append(query(name, class: .any))
            queries.append(query(name, class: .chaos))
        }
        return queries
    }()

    /// The same query with another id and RD and CD flipped: a cache hit must copy them, not replay the first.
    static func reasked(_ query: [UInt8], id: UInt16) -> [UInt8] {
        var again = query
        again[0] = UInt8(id >> 8)
        again[1] = UInt8(id & 0xFF)
        again[2] ^= 0x01
        again[3] ^= 0x10
        return again
    }

    @Test(arguments: [false, true])
    func cachedAnswersAreTheFullPathsBytes(forwarding: Bool) throws {
        let zones = try Self.zones()
        // With a forwarder, out-of-zone names and the ExternalName are forwarded: neither cached nor replied here.
        let forwarder =
            forwarding
            ? Forwarder(upstreams: [Upstream(host: "127.0.0.1", port: 9)], transport: NIOUpstreamTransport()) : nil
        let responder = DNSResponder(zones: zones, forwarder: forwarder)
        let answerer = UDPFastAnswerer(responder: responder)
        var cachedCount = 0
        for (index, query) in Self.variants.enumerated() {
            // (A re-ask below flips RD and CD: it may be another variant, already cached. Start afresh.)
            answerer.cache.removeAll()
            let first = answerer.answer(query)
            #expect(first?.bytes == Self.full(responder, query))
            #expect(first?.cached != true, "the first ask is the full path's")
            for round in 0..<2 {
                let again = Self.reasked(query, id: UInt16(index * 2 + round + 100))
                let second = answerer.answer(again)
                #expect(second?.bytes == Self.full(responder, again), "query \(index)")
                if second?.cached == true { cachedCount += 1 }
            }
        }
        #expect(cachedCount > Self.variants.count, "most answers came from the cache")
        // What was cached: zone answers only; with a forwarder neither the out-of-zone names nor the ExternalName.
        func twice(_ name: String) -> Bool? {
            _ = answerer.answer(Self.query(name, id: 8))
            return answerer.answer(Self.query(name, id: 9))?.cached
        }
        #expect(twice("web.default.svc.cluster.local") == true)
        #expect(twice("example.org") == (forwarding ? nil : true))
        #expect(twice("ext.default.svc.cluster.local") == (forwarding ? nil : true))
    }

    @Test func theQuestionIsEchoedAsAskedAndTruncationFollowsTheLimit() throws {
        let responder = DNSResponder(zones: try Self.zones(), forwarder: nil)
        let answerer = UDPFastAnswerer(responder: responder)
        let lower = Self.query("web.default.svc.cluster.local", id: 1)
        let mixed = Self.query("WeB.deFAULT.svc.cluster.local", id: 2)
        _ = answerer.answer(lower)
        _ = answerer.answer(mixed)
        let hit = try #require(answerer.answer(Self.reasked(mixed, id: 3)))
        #expect(hit.cached)
        let message = try DNSMessage(decoding: hit.bytes)
        #expect(message.id == 3 && !message.recursionDesired && message.checkingDisabled)
        #expect(message.questions.first?.name.labels[0] == Array("WeB".utf8))
        #expect(message.answers.first?.name.labels[1] == Array("deFAULT".utf8))
        #expect(message.answers.first?.data == .a(IPAddress("10.96.0.5")!))

        // 60 addresses: TC without EDNS or at 512, all of them with 4096 (capped at our 1232).
        for (edns, truncated) in [(nil, true), (EDNS(udpPayloadSize: 512), true), (EDNS(udpPayloadSize: 4096), false)]
            as [(EDNS?, Bool)]
        {
            let query = Self.query("many.default.svc.cluster.local", edns: edns)
            _ = answerer.answer(query)
            let hit = try #require(answerer.answer(Self.reasked(query, id: 7)))
            #expect(hit.cached)
            let message = try DNSMessage(decoding: hit.bytes)
            #expect(message.truncated == truncated)
            #expect(hit.bytes.count <= (edns == nil ? 512 : min(1232, max(512, Int(edns!.udpPayloadSize)))))
            #expect(message.edns?.udpPayloadSize == edns.map { _ in 1232 })
            #expect(message.answers.count == (truncated ? 0 : 60))
        }
    }

    @Test func aZoneChangeChangesTheAnswer() throws {
        let zones = try Self.zones()
        let responder = DNSResponder(zones: zones, forwarder: nil)
        let answerer = UDPFastAnswerer(responder: responder)
        let query = Self.query("added.default.svc.cluster.local")
        func ask() throws -> DNSMessage {
            let answer = try #require(answerer.answer(query))
            #expect(answer.bytes == Self.full(responder, query))
            return try DNSMessage(decoding: answer.bytes)
        }
        #expect(try ask().rcode == .nxDomain)
        #expect(answerer.answer(query)?.cached == true)
        let added = try Self.service("added", ip: "10.96.0.77")
        zones.update { $0.update(service: added) }
        #expect(answerer.answer(query)?.cached == false, "the zone's generation moved: the cache is dropped")
        #expect(try ask().answers.map(\.data) == [.a(IPAddress("10.96.0.77")!)])
        #expect(answerer.answer(query)?.cached == true)
        zones.update { $0.remove(service: added) }
        #expect(try ask().rcode == .nxDomain)
        #expect(try ask().answers.isEmpty)
    }

    @Test func malformedAndUnusualQueriesTakeTheFullPath() throws {
        let responder = DNSResponder(zones: try Self.zones(), forwarder: nil)
        let answerer = UDPFastAnswerer(responder: responder)
        let good = Self.query("web.default.svc.cluster.local", edns: EDNS())
        _ = answerer.answer(good)
        #expect(answerer.answer(good)?.cached == true)

        var edited: [[UInt8]] = []
        edited.append(good + [0])  // a byte after the last record: FORMERR
        edited.append(Array(good.dropLast()))  // cut
        var version1 = good
        version1[good.count - 5] = 1  // EDNS version 1: BADVERS
        edited.append(version1)
        var response = good
        response[2] |= 0x80  // QR: dropped
        edited.append(response)
        var update = good
        update[2] |= 5 << 3  // opcode UPDATE: NOTIMP
        edited.append(update)
        var twoOPT = good
        twoOPT[11] = 2
        edited.append(twoOPT + good.suffix(11))  // two OPT records: FORMERR
        var badOption = good
        badOption[good.count - 1] = 4
        edited.append(badOption + [0, 10, 0, 9])  // an option longer than the OPT's data
        // A question whose name is a pointer into the header: the full path decides.
        edited.append([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 4, 0, 1, 0, 1])
        edited.append([0x12, 0x34, 0x01])
        for query in edited {
            for _ in 0..<2 {
                let answer = answerer.answer(query)
                #expect(answer?.bytes == Self.full(responder, query))
                #expect(answer?.cached != true)
            }
        }
        #expect(answerer.answer(Self.reasked(good, id: 77))?.bytes == Self.full(responder, Self.reasked(good, id: 77)))
    }

    /// Random mutations of cached queries: every answer, cached or not, is the full path's.
    @Test func mutatedQueriesGetTheFullPathsAnswer() throws {
        let responder = DNSResponder(zones: try Self.zones(), forwarder: nil)
        let answerer = UDPFastAnswerer(responder: responder)
        var generator = SplitMix(state: 0x5EED)
        let seeds = Self.variants
        var cached = 0
        for round in 0..<6000 {
            var query = seeds[round % seeds.count]
            if round % 3 != 0 {
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    let index = Int.random(in: 0..<query.count, using: &generator)
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: query[index] = UInt8.random(in: 0...255, using: &generator)
                    case 1: query[index] ^= 0x20  // case, or a flag
                    case 2: query.remove(at: index)
                    default: query.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                    }
                }
            }
            let answer = answerer.answer(query)
            let full = Self.full(responder, query)
            #expect(answer?.bytes == full, "\(query)")
            if answer?.cached == true { cached += 1 }
        }
        #expect(cached > 1000)
    }

    @Test func theCacheIsBounded() throws {
        let responder = DNSResponder(zones: try Self.zones(), forwarder: nil)
        let cache = UDPAnswerCache(maxEntries: 50, maxBytes: 1 << 20)
        let answerer = UDPFastAnswerer(responder: responder, cache: cache)
        for index in 0..<500 {
            let query = Self.query("n\(index).default.svc.cluster.local")
            #expect(answerer.answer(query)?.bytes == Self.full(responder, query))
            #expect(cache.count <= 50)
        }
        let small = UDPAnswerCache(maxEntries: 1000, maxBytes: 2000)
        let bounded = UDPFastAnswerer(responder: responder, cache: small)
        for index in 0..<200 {
            _ = bounded.answer(Self.query("n\(index).default.svc.cluster.local"))
            #expect(small.bytes <= 2000)
        }
    }

    // MARK: - On a socket

    /// Sends `queries` from one UDP socket to 127.0.0.1:`port` at once and collects the answers by id.
    static func exchange(_ queries: [[UInt8]], host: String = "127.0.0.1", port: Int) throws -> [UInt16: [UInt8]] {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let fd = socket(Int32(address.protocol.rawValue), Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int>.size))
        for query in queries {
            let sent = query.withUnsafeBytes { bytes in
                address.withSockAddr { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t($1)) }
            }
            #expect(sent == query.count)
        }
        var answers: [UInt16: [UInt8]] = [:]
        var receive = [UInt8](repeating: 0, count: 65536)
        while answers.count < queries.count {
            let count = receive.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count >= 2 else { break }
            answers[UInt16(receive[0]) << 8 | UInt16(receive[1])] = Array(receive[..<count])
        }
        return answers
    }

    @Test func answersOnARealSocketInBatches() async throws {
        let responder = DNSResponder(zones: try Self.zones(), forwarder: nil)
        let server = try await DNSServer.start(responder: responder, addresses: [("127.0.0.1", 0)])
        defer { Task { await server.close() } }
        let port = server.boundPorts[0]
        // 3 rounds of 100 queries sent at once (not 300: the server's default receive buffer would drop some):
        // batches of several datagrams, misses first, hits after.
        let names = [
            "web.default.svc.cluster.local", "nope.default.svc.cluster.local", "Many.default.svc.cluster.local",
        ]
        var queries: [[UInt8]] = []
        for round in 0..<3 {
            for index in 0..<100 {
                let id = UInt16(round * 100 + index)
                queries.append(
                    Self.query(names[index % 3], id: id, rd: index % 2 == 0, edns: index % 4 == 0 ? EDNS() : nil))
            }
        }
        var answers: [UInt16: [UInt8]] = [:]
        for round in 0..<3 {
            answers.merge(try Self.exchange(Array(queries[round * 100..<round * 100 + 100]), port: port)) { $1 }
        }
        #expect(answers.count == queries.count)
        // Every query counted, from the cache or not (before the comparison below asks the full path itself).
        // (A batch's cached answers are counted just after they are sent: wait for the last batch's.)
        let missing = queries.indices.filter { $0 % 100 % 3 == 1 }.count
        for _ in 0..<100 where responder.metrics.responses(rcode: .noError) != queries.count - missing {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(responder.metrics.responses(rcode: .nxDomain) == missing)
        #expect(responder.metrics.responses(rcode: .noError) == queries.count - missing)
        #expect(
            responder.metrics.prometheusText().contains(
                "weft_dns_request_duration_seconds_count \(queries.count)"))
        for (index, query) in queries.enumerated() {
            #expect(answers[UInt16(index)] == Self.full(responder, query), "query \(index)")
        }
        await server.close()
        // Closed: the port is free again for UDP and TCP.
        let again = try await DNSServer.start(responder: responder, addresses: [("127.0.0.1", port)])
        await again.close()
    }

    /// A second close must not touch the descriptor's number, which may be another socket's by then.
    @Test func closingTwiceLeavesOtherSocketsAlone() async throws {
        let responder = DNSResponder(zones: try Self.zones(), forwarder: nil)
        let first = try await DNSServer.start(responder: responder, addresses: [("127.0.0.1", 0)])
        await first.close()
        let second = try await DNSServer.start(responder: responder, addresses: [("127.0.0.1", 0)])
        await first.close()
        let query = Self.query("web.default.svc.cluster.local", id: 5)
        let answers = try Self.exchange([query], port: second.boundPorts[0])
        #expect(answers[5] == Self.full(responder, query))
        await second.close()
    }

    @Test(.enabled(if: (try? SocketAddress(ipAddress: "::1", port: 0)) != nil))
    func answersOverIPv6() async throws {
        let responder = DNSResponder(zones: try Self.zones(), forwarder: nil)
        let server: DNSServer
        do {
            server = try await DNSServer.start(responder: responder, addresses: [("::1", 0)])
        } catch {
            return  // No IPv6 loopback here.
        }
        defer { Task { await server.close() } }
        let queries = [42, 43].map { Self.query("web.default.svc.cluster.local", id: $0) }
        let answers = try Self.exchange(queries, host: "::1", port: server.boundPorts[0])
        #expect(answers[42] == Self.full(responder, queries[0]))
        #expect(answers[43] == Self.full(responder, queries[1]))
    }
}

/// SplitMix64: a seeded generator, the same mutations on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
