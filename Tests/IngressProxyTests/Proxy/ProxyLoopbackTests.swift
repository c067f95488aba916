import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

@testable import IngressProxy

/// The proxy with real sockets on 127.0.0.1: clients, proxy and `TestBackend`s in one process.
@Suite(.timeLimit(.minutes(2)))
struct ProxyLoopbackTests {
    static func web(_ backends: [TestBackend]) -> String {
        ProxyFixture.service("web", ports: backends.map(\.port))
            + ProxyFixture.ingress("web", rules: [("web.example", "/", "web")])
    }

    @Test func keepAliveReusesOneUpstreamConnection() async throws {
        try await ProxyFixture.run(backends: ["a"], yaml: Self.web) { proxy in
            let connection = try await TestConnection.connect(port: proxy.httpPort, group: proxy.group)
            for index in 0..<5 {
                let response = try await connection.request(.GET, "/item/\(index)", host: "web.example")
                #expect(response.status == 200)
                #expect(response.line("path") == "/item/\(index)")
            }
            await connection.close()
            // Upstream connections are pooled per event loop, and a client connection stays on one loop.
            #expect(proxy.backends[0].connections == 1)
            #expect(proxy.server.metrics.upstreamConnectionsOpened == 1)
            let endpoint = BackendEndpoint(address: .init("127.0.0.1")!, port: proxy.backends[0].port)
            #expect(try await proxy.server.idleConnections(to: endpoint) == 1)
        }
    }

    @Test func roundRobinAcrossTwoBackends() async throws {
        try await ProxyFixture.run(backends: ["a", "b"], yaml: Self.web) { proxy in
            let connection = try await TestConnection.connect(port: proxy.httpPort, group: proxy.group)
            var seen: [String] = []
            for _ in 0..<6 {
                let response = try await connection.request(.GET, "/", host: "web.example")
                seen.append(response.line("backend") ?? "?")
            }
            await connection.close()
            #expect(seen.filter { $0 == "a" }.count == 3)
            #expect(seen.filter { $0 == "b" }.count == 3)
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 != $1 })
        }
    }

    @Test func idempotentRequestsRetryAnotherEndpointWhenOneIsDead() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let dead = try await ProxyFixture.deadPort(group: group)
        try await group.shutdownGracefully()
        var configuration = ProxyConfiguration()
        configuration.ejectionThreshold = 2
        try await ProxyFixture.run(
            configuration: configuration, backends: ["a"],
            yaml: { backends in
                ProxyFixture.service("web", ports: [backends[0].port, dead])
                    + ProxyFixture.service("gone", ports: [dead])
                    + ProxyFixture.ingress(
                        "web", rules: [("web.example", "/", "web"), ("gone.example", "/", "gone")])
            }
        ) { proxy in
            for _ in 0..<6 {
                let response = try await TestConnection.request(
                    port: proxy.httpPort, group: proxy.group, .GET, "/", host: "web.example")
                #expect(response.status == 200)
                #expect(response.line("backend") == "a")
            }
            let endpoint = BackendEndpoint(address: .init("127.0.0.1")!, port: dead)
            #expect(proxy.server.balancer.isEjected(endpoint))
            #expect(
                proxy.server.metrics.render().contains("weft_ingress_upstream_errors_total{kind=\"connect_failed\"} 2"))
            // Not idempotent, and nowhere else to go: 502 saying why.
            let post = try await TestConnection.request(
                port: proxy.httpPort, group: proxy.group, .POST, "/", host: "gone.example",
                body: ByteBuffer(string: "x"))
            #expect(post.status == 502)
            #expect(post.body.contains("upstream default/gone:http failed"))
        }
    }

    @Test func errorsAnswerWithStatusAndReason() async throws {
        var configuration = ProxyConfiguration()
        configuration.requestTimeout = .milliseconds(300)
        configuration.maxBodyBytes = 1000
        configuration.maxHeaderBytes = 2048
        try await ProxyFixture.run(
            configuration: configuration, backends: ["a"],
            yaml: { backends in
                Self.web(backends) + ProxyFixture.service("down", ports: [backends[0].port], ready: false)
                    + ProxyFixture.ingress("down", rules: [("down.example", "/", "down")])
            }
        ) { proxy in
            let port = proxy.httpPort
            let group = proxy.group
            let notFound = try await TestConnection.request(
                port: port, group: group, .GET, "/", host: "nowhere.example")
            #expect(notFound.status == 404)
            #expect(notFound.body == "no route for http://nowhere.example:80/\n")

            let unavailable = try await TestConnection.request(
                port: port, group: group, .GET, "/", host: "down.example")
            #expect(unavailable.status == 503)
            #expect(unavailable.body.contains("has no ready endpoints"))

            let slow = try await TestConnection.request(
                port: port, group: group, .GET, "/slow/3000", host: "web.example")
            #expect(slow.status == 504)
            #expect(slow.body.contains("did not answer within"))

            let tooLarge = try await TestConnection.request(
                port: port, group: group, .POST, "/", host: "web.example",
                body: ByteBuffer(repeating: 0x61, count: 2000))
            #expect(tooLarge.status == 413)
            #expect(tooLarge.body.contains("larger than 1000 bytes"))

            let big = String(repeating: "x", count: 4000)
            let (headerReply, _) = try await RawClient.exchange(
                port: port, group: group, send: "GET / HTTP/1.1\r\nHost: web.example\r\nX-Big: \(big)\r\n\r\n")
            #expect(headerReply.hasPrefix("HTTP/1.1 431"))
            #expect(headerReply.contains("request header fields larger than 2048 bytes"))

            let (malformed, closed) = try await RawClient.exchange(
                port: port, group: group, send: "GET / HTTP/1.1\r\nHost web.example\r\n\r\n")
            #expect(malformed.hasPrefix("HTTP/1.1 400"))
            #expect(closed)

            // The proxy is still fine.
            let ok = try await TestConnection.request(port: port, group: group, .GET, "/", host: "web.example")
            #expect(ok.status == 200)
        }
    }

    @Test func badGatewayWhenTheOnlyEndpointIsDead() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let dead = try await ProxyFixture.deadPort(group: group)
        try await group.shutdownGracefully()
        try await ProxyFixture.run(
            backends: [],
            yaml: { _ in
                ProxyFixture.service("gone", ports: [dead])
                    + ProxyFixture.ingress("gone", rules: [("gone.example", "/", "gone")])
            }
        ) { proxy in
            let response = try await TestConnection.request(
                port: proxy.httpPort, group: proxy.group, .GET, "/", host: "gone.example")
            #expect(response.status == 502)
            #expect(response.body.hasPrefix("upstream default/gone:http failed: connecting to 127.0.0.1:\(dead)"))
        }
    }

    @Test func forwardedHeadersAndHopByHopFields() async throws {
        try await ProxyFixture.run(backends: ["a"], yaml: Self.web) { proxy in
            let response = try await TestConnection.request(
                port: proxy.httpPort, group: proxy.group, .GET, "/h?q=1", host: "web.example",
                headers: [
                    ("X-Forwarded-For", "203.0.113.7"), ("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"),
                    ("Keep-Alive", "timeout=5"), ("X-Kept", "yes"),
                ])
            #expect(response.status == 200)
            #expect(response.line("xff") == "203.0.113.7, 127.0.0.1")
            #expect(response.line("xfp") == "http")
            #expect(response.line("xfh") == "web.example")
            #expect(response.line("host") == "web.example")
            #expect(response.line("path") == "/h?q=1")
            #expect(response.line("header.x-kept") == "yes")
            #expect(response.line("header.x-secret") == nil)
            #expect(response.line("header.keep-alive") == nil)
            #expect(response.headers.first(name: "x-backend") == "a")
        }
    }

    @Test func requestBodiesStreamThrough() async throws {
        try await ProxyFixture.run(backends: ["a"], yaml: Self.web) { proxy in
            let size = 3 * 1024 * 1024 + 17
            let response = try await TestConnection.request(
                port: proxy.httpPort, group: proxy.group, .PUT, "/upload", host: "web.example",
                body: ByteBuffer(repeating: 0x62, count: size))
            #expect(response.status == 200)
            #expect(response.line("body") == "\(size)")
        }
    }

    @Test func webSocketUpgradeRelaysBytes() async throws {
        try await ProxyFixture.run(backends: ["a"], yaml: Self.web) { proxy in
            let channel = try await RawClient.connect(port: proxy.httpPort, group: proxy.group)
            try await channel.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                try await outbound.write(
                    ByteBuffer(
                        string:
                            "GET /ws HTTP/1.1\r\nHost: web.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                    ))
                var received = ""
                while !received.contains("\r\n\r\n"), let buffer = try await iterator.next() {
                    received += String(buffer: buffer)
                }
                #expect(received.hasPrefix("HTTP/1.1 101"))
                #expect(received.lowercased().contains("upgrade: websocket"))
                // Swap the table: the open relay is not touched.
                proxy.server.update(table: try ProxyFixture.table(""), certificates: [:])
                for message in ["hello", "again"] {
                    try await outbound.write(ByteBuffer(string: message))
                    var echo = ""
                    while echo.count < message.count + 2, let buffer = try await iterator.next() {
                        echo += String(buffer: buffer)
                    }
                    #expect(echo == "a:" + message)
                }
            }
        }
    }

    @Test func httpsPicksTheCertificateBySNIAndTheRouteByHost() async throws {
        let pki = try TestPKI()
        let first = try pki.leaf("a.example")
        let second = try pki.leaf("b.example")
        try await ProxyFixture.run(
            backends: ["a", "b"],
            yaml: { backends in
                ProxyFixture.service("sa", ports: [backends[0].port])
                    + ProxyFixture.service("sb", ports: [backends[1].port])
                    + ProxyFixture.tlsSecret("cert-a", first) + ProxyFixture.tlsSecret("cert-b", second)
                    + ProxyFixture.ingress(
                        "tls", rules: [("a.example", "/", "sa"), ("b.example", "/", "sb")],
                        tls: [("a.example", "cert-a"), ("b.example", "cert-b")])
            }
        ) { proxy in
            let context = try pki.clientContext()
            for (name, pem, backend) in [("a.example", first, "a"), ("b.example", second, "b")] {
                let connection = try await TestConnection.connect(
                    port: proxy.httpsPort, group: proxy.group, tls: context, serverName: name)
                let response = try await connection.request(.GET, "/secure", host: name)
                let served = try await connection.peerCertificate()
                await connection.close()
                #expect(response.status == 200)
                #expect(response.line("backend") == backend)
                #expect(response.line("xfp") == "https")
                #expect(served == (try NIOSSLCertificate(bytes: Array(pem.certificatePEM.utf8), format: .pem)))
            }
            // A name no Secret covers gets the default certificate.
            let connection = try await TestConnection.connect(
                port: proxy.httpsPort, group: proxy.group, tls: try TestPKI.trustingAnything(),
                serverName: "other.example")
            let response = try await connection.request(.GET, "/", host: "other.example")
            let served = try await connection.peerCertificate()
            await connection.close()
            #expect(response.status == 404)
            #expect("\(served.map { "\($0)" } ?? "")".contains("weft-ingress-default"))
        }
    }

    @Test func http2ThroughALPN() async throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf("a.example")
        try await ProxyFixture.run(
            backends: ["a"],
            yaml: { backends in
                ProxyFixture.service("sa", ports: [backends[0].port]) + ProxyFixture.tlsSecret("cert-a", leaf)
                    + ProxyFixture.ingress("tls", rules: [("a.example", "/", "sa")], tls: [("a.example", "cert-a")])
            }
        ) { proxy in
            let context = try pki.clientContext(protocols: ["h2"])
            let response = try await TestHTTP2Client.request(
                port: proxy.httpsPort, group: proxy.group, tls: context, serverName: "a.example", path: "/two?x=1")
            #expect(response.status == 200)
            #expect(response.line("backend") == "a")
            #expect(response.line("path") == "/two?x=1")
            #expect(response.line("host") == "a.example")
            let missing = try await TestHTTP2Client.request(
                port: proxy.httpsPort, group: proxy.group, tls: context, serverName: "a.example", path: "/")
            #expect(missing.status == 200)
        }
    }

    @Test func aTableSwapLeavesTheRequestInFlightAlone() async throws {
        try await ProxyFixture.run(backends: ["a"], yaml: Self.web) { proxy in
            let slow = Task {
                try await TestConnection.request(
                    port: proxy.httpPort, group: proxy.group, .GET, "/slow/700", host: "web.example")
            }
            // Swapped once the slow request has been routed (its upstream connection is open), however long the
            // machine takes to get there.
            let deadline = ContinuousClock.now + .seconds(10)
            while proxy.backends[0].connections == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try #require(proxy.backends[0].connections == 1)
            proxy.server.update(table: try ProxyFixture.table(""), certificates: [:])
            let after = try await TestConnection.request(
                port: proxy.httpPort, group: proxy.group, .GET, "/", host: "web.example")
            #expect(after.status == 404)
            let response = try await slow.value
            #expect(response.status == 200)
            #expect(response.line("path") == "/slow/700")
        }
    }

    @Test func slowHeaderClientsAreClosed() async throws {
        var configuration = ProxyConfiguration()
        // Long enough for a loaded machine to connect and send the partial head before the proxy gives up.
        configuration.headerReadTimeout = .seconds(1)
        try await ProxyFixture.run(configuration: configuration, backends: ["a"], yaml: Self.web) { proxy in
            // Without the header timeout the proxy would wait for the rest of the head for ever: the client's own
            // limit (far above the timeout, for a loaded CI machine) would end the exchange with `closed` false.
            let (received, closed) = try await RawClient.exchange(
                port: proxy.httpPort, group: proxy.group, send: "GET / HTTP/1.1\r\nHost: web.exa",
                limit: .seconds(20))
            #expect(closed)
            #expect(received.isEmpty)
            // The proxy's side of the close is counted a moment later.
            for _ in 0..<500 where proxy.server.metrics.openClientConnections > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(proxy.server.metrics.openClientConnections == 0)
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        try await ProxyFixture.run(backends: ["a"], yaml: Self.web) { proxy in
            for _ in 0..<3 {
                _ = try await TestConnection.request(
                    port: proxy.httpPort, group: proxy.group, .GET, "/", host: "web.example")
            }
            _ = try await TestConnection.request(port: proxy.httpPort, group: proxy.group, .GET, "/", host: "x.example")
            let text = proxy.server.metrics.render()
            #expect(
                text.contains(
                    "weft_ingress_requests_total{route=\"ingress/default/web rule 0 path 0\",status=\"200\"} 3"))
            #expect(text.contains("weft_ingress_requests_total{route=\"none\",status=\"404\"} 1"))
            #expect(
                text.contains(
                    "weft_ingress_request_duration_seconds_count{route=\"ingress/default/web rule 0 path 0\"} 3"))
            // One per event loop the client connections landed on.
            let upstream = proxy.backends[0].connections
            #expect(upstream >= 1 && upstream <= 2)
            #expect(text.contains("weft_ingress_upstream_connections \(upstream)\n"))
            // The same text over HTTP.
            let metricsPort = try await proxy.server.listenMetrics(host: "127.0.0.1", port: 0)
            let scraped = try await TestConnection.request(
                port: metricsPort, group: proxy.group, .GET, "/metrics", host: "127.0.0.1")
            #expect(scraped.status == 200)
            #expect(scraped.body.contains("weft_ingress_requests_total{route=\"none\",status=\"404\"} 1\n"))
            let health = try await TestConnection.request(
                port: metricsPort, group: proxy.group, .GET, "/healthz", host: "127.0.0.1")
            #expect(health.body == "ok\n")
        }
    }
}
