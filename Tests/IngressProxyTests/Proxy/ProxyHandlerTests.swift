import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import IngressProxy

/// The client side of the proxy on an `EmbeddedChannel`: what it answers by itself, byte for byte, without
/// sockets or threads.
struct ProxyHandlerTests {
    static let yaml =
        ProxyFixture.ingress("web", rules: [("down.example", "/", "down")])
        + ProxyFixture.service("down", ports: [8080], ready: false)
        + Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP, hostname: old.example}]")
            + """

            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: moved, namespace: infra}
            spec:
              parentRefs: [{name: gw}]
              rules: [{filters: [{type: RequestRedirect, requestRedirect: {hostname: new.example, statusCode: 301}}]}]

            """

    /// A connected channel with the proxy's HTTP/1.1 pipeline.
    static func channel(_ configuration: ProxyConfiguration = ProxyConfiguration()) throws -> (
        EmbeddedChannel, IngressProxyServer
    ) {
        let channel = EmbeddedChannel()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try IngressProxyServer(
            configuration: configuration, table: try ProxyFixture.table(yaml), group: channel.embeddedEventLoop,
            logger: logger)
        try server.configureHTTP1(channel, listener: ProxyListener(port: 80, scheme: .http))
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 40000)).wait()
        return (channel, server)
    }

    /// Writes `text` in and returns everything the proxy wrote back.
    static func send(_ channel: EmbeddedChannel, _ text: String) throws -> String {
        do {
            try channel.writeInbound(ByteBuffer(string: text))
        } catch {
            // The decoder's error reaches the end of the pipeline after the proxy answered it.
        }
        var output = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { output += String(buffer: buffer) }
        }
        return output
    }

    @Test func noRouteIs404AndTheConnectionStays() throws {
        let (channel, _) = try Self.channel()
        defer { _ = try? channel.finish() }
        for _ in 0..<2 {
            let response = try Self.send(channel, "GET /x?y HTTP/1.1\r\nHost: nowhere.example\r\n\r\n")
            #expect(response.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
            #expect(response.hasSuffix("\r\n\r\nno route for http://nowhere.example:80/x\n"))
            #expect(channel.isActive)
        }
    }

    @Test func noReadyEndpointsIs503() throws {
        let (channel, server) = try Self.channel()
        defer { _ = try? channel.finish() }
        let response = try Self.send(channel, "GET / HTTP/1.1\r\nHost: down.example\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(response.contains("service default/down port http has no ready endpoints\n"))
        #expect(server.metrics.requests(route: "ingress/default/web rule 0 path 0", status: 503) == 1)
    }

    @Test func redirectsAreAnsweredByTheProxy() throws {
        let (channel, _) = try Self.channel()
        defer { _ = try? channel.finish() }
        let response = try Self.send(channel, "GET /a/b HTTP/1.1\r\nHost: old.example\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 301 Moved Permanently\r\n"))
        #expect(response.lowercased().contains("location: http://new.example/a/b\r\n"))
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost web\r\n\r\n", "HTTP/1.1 400 Bad Request", "malformed HTTP request"),
        ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request", "the request has no Host header"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request", "several Host headers"),
        ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 Bad Request", "the request target must be a path"),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\n", "HTTP/1.1 413 Payload Too Large",
            "request body of 99999 bytes is larger than 1000 bytes"
        ),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "y", count: 3000))\r\n\r\n",
            "HTTP/1.1 431 Request Header Fields Too Large", "request header fields larger than 2048 bytes"
        ),
    ])
    func badRequestsAreAnsweredAndClosed(request: String, statusLine: String, reason: String) throws {
        var configuration = ProxyConfiguration()
        configuration.maxBodyBytes = 1000
        configuration.maxHeaderBytes = 2048
        let (channel, _) = try Self.channel(configuration)
        defer { _ = try? channel.finish() }
        let response = try Self.send(channel, request)
        #expect(response.hasPrefix(statusLine + "\r\n"))
        #expect(response.contains(reason))
        #expect(response.lowercased().contains("connection: close\r\n"))
        #expect(!channel.isActive)
    }

    @Test func idleAndSlowClientsAreClosedAfterTheHeaderTimeout() throws {
        var configuration = ProxyConfiguration()
        configuration.headerReadTimeout = .seconds(5)
        let (channel, _) = try Self.channel(configuration)
        defer { _ = try? channel.finish() }
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        // A complete request stops the clock; its answer starts it again for the next one.
        _ = try Self.send(channel, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        // Half a head does not.
        _ = try Self.send(channel, "GET / HTTP/1.1\r\nHo")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }
}
