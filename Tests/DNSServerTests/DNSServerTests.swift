import ClusterDNS
import DNS
import Foundation
import KubeModel
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WeftNet

@testable import DNSServer

/// `weft dns`'s server on loopback, asked by `dig`: cluster names over UDP and TCP, truncation and the TCP retry,
/// FORMERR for garbage, forwarding to a fake upstream on loopback with failover and the cache.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/dig")))
struct DNSServerTests {
    /// An upstream on loopback that answers every A question with 192.0.2.53 (TTL 5) and counts what it gets.
    final class FakeUpstream: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>

        let queries = Atomic<Int>(0)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let query = try? DNSMessage(decoding: Array(envelope.data.readableBytesView)) else { return }
            queries.add(1, ordering: .relaxed)
            var response = query.response()
            response.recursionAvailable = true
            if let question = query.questions.first, question.type == .a {
                response.answers = [ResourceRecord(name: question.name, ttl: 5, data: .a(IPAddress("192.0.2.53")!))]
            }
            let buffer = context.channel.allocator.buffer(bytes: response.encode(maxSize: 512))
            context.writeAndFlush(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
        }
    }

    static func objects<T: KubeObject>(_ yaml: String) throws -> [T] {
        try Manifest.decodeDocuments(yaml).map { try Manifest.decode($0) }
    }

    /// Runs dig on a Dispatch thread: waiting for it on one of the few threads of Swift's cooperative pool could
    /// starve the server's own tasks (a forwarded answer) on a two-core machine.
    static func dig(_ port: Int, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        let process = Process()
                        process.executableURL = URL(fileURLWithPath: "/usr/bin/dig")
                        process.arguments = ["@127.0.0.1", "-p", "\(port)", "+time=5", "+tries=1"] + arguments
                        let output = Pipe()
                        process.standardOutput = output
                        process.standardInput = FileHandle.nullDevice
                        try process.run()
                        let data = output.fileHandleForReading.readDataToEndOfFile()
                        process.waitUntilExit()
                        return String(decoding: data, as: UTF8.self)
                    })
            }
        }
    }

    @Test func answersOverUDPAndTCPForwardsAndCaches() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let upstream = FakeUpstream()
        let upstreamChannel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(upstream) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { upstreamChannel.close(promise: nil) }
        // A port nobody listens on: the first upstream fails at once (ICMP port unreachable) or times out.
        let dead = Upstream(host: "127.0.0.1", port: 9)
        let live = Upstream(host: "127.0.0.1", port: upstreamChannel.localAddress!.port!)

        let zones = ZoneStore()
        let services: [Service] = try Self.objects(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec: {clusterIP: 10.96.0.5, clusterIPs: [10.96.0.5], ports: [{name: http, port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: many, namespace: default}
            spec: {clusterIP: None, ports: [{port: 80}]}
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
        zones.update { zone in
            for service in services { zone.update(service: service) }
            for slice in slices { zone.update(slice: slice) }
        }
        let forwarder = Forwarder(
            upstreams: [dead, live], transport: NIOUpstreamTransport(), timeout: .milliseconds(500))
        let responder = DNSResponder(zones: zones, forwarder: forwarder)
        let server = try await DNSServer.start(responder: responder, addresses: [("127.0.0.1", 0)])
        defer { Task { await server.close() } }
        let port = server.boundPorts[0]

        #expect(try await Self.dig(port, ["+short", "web.default.svc.cluster.local", "A"]) == "10.96.0.5\n")
        #expect(try await Self.dig(port, ["+short", "+tcp", "WEB.Default.svc.cluster.local", "A"]) == "10.96.0.5\n")
        #expect(
            try await Self.dig(port, ["+short", "_http._tcp.web.default.svc.cluster.local", "SRV"])
                == "0 100 80 web.default.svc.cluster.local.\n")
        let missing = try await Self.dig(port, ["nope.default.svc.cluster.local", "A"])
        #expect(missing.contains("status: NXDOMAIN") && missing.contains("IN\tSOA"), "\(missing)")

        // 60 addresses do not fit 512 bytes: TC without EDNS; dig then retries over TCP and gets them all.
        let cut = try await Self.dig(port, ["+noedns", "+ignore", "many.default.svc.cluster.local", "A"])
        #expect(cut.contains(" tc"), "\(cut)")
        let whole = try await Self.dig(port, ["+noedns", "+short", "many.default.svc.cluster.local", "A"])
        #expect(whole.split(separator: "\n").count == 60)

        // Forwarded: the dead upstream is skipped after its failure; the second ask comes from the cache.
        #expect(try await Self.dig(port, ["+short", "example.org", "A"]) == "192.0.2.53\n")
        #expect(try await Self.dig(port, ["+short", "Example.ORG", "A"]) == "192.0.2.53\n")
        #expect(upstream.queries.load(ordering: .relaxed) == 1)
        #expect(await forwarder.unhealthy == [dead])
        #expect(responder.metrics.prometheusText().contains("weft_dns_cache_hits_total 1"))
    }

    @Test func garbageGetsFormErrOrNothingAndTheServerKeepsServing() async throws {
        let responder = DNSResponder(zones: ZoneStore(), forwarder: nil)
        let server = try await DNSServer.start(responder: responder, addresses: [("127.0.0.1", 0)])
        defer { Task { await server.close() } }
        let port = server.boundPorts[0]
        let socket = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { socket.close(promise: nil) }
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        // A header claiming one question, then a compression pointer to itself.
        let loop: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        for garbage in [[0x01, 0x02, 0x03], loop] as [[UInt8]] {
            try await socket.writeAndFlush(
                AddressedEnvelope(remoteAddress: target, data: socket.allocator.buffer(bytes: garbage)))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(responder.metrics.responses(rcode: .formErr) == 1, "the pointer loop: FORMERR with its id")
        #expect(responder.metrics.prometheusText().contains("weft_dns_dropped_total 1"), "three bytes: dropped")
        let version = try await Self.dig(port, ["+short", "dns-version.cluster.local", "TXT"])
        #expect(version == "\"1.1.0\"\n", "still serving")
        let external = try await Self.dig(port, ["example.org", "A"])
        #expect(external.contains("status: REFUSED"), "no upstreams: not ours to answer")
    }
}
