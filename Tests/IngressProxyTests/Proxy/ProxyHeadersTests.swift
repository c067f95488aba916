import NIOHTTP1
import Testing

@testable import IngressProxy

struct ProxyHeadersTests {
    @Test func upstreamHeadersDropHopByHopAndAddForwarding() {
        let client = HTTPHeaders([
            ("Host", "shop.example"), ("Connection", "keep-alive, X-Private"), ("X-Private", "1"),
            ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Transfer-Encoding", "chunked"),
            ("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "198.51.100.2"), ("X-Forwarded-Proto", "ftp"),
            ("Accept", "text/html"),
        ])
        let fields = client.map { HeaderField(name: $0.name, value: $0.value) }
        let headers = ProxyHeaders.upstream(
            fields, client: client, host: "rewritten.example", clientAddress: "192.0.2.9", scheme: .https,
            originalHost: "shop.example", upgrade: nil)
        #expect(headers["host"] == ["rewritten.example"])
        #expect(headers["x-forwarded-for"] == ["198.51.100.1, 198.51.100.2, 192.0.2.9"])
        #expect(headers["x-forwarded-proto"] == ["https"])
        #expect(headers["x-forwarded-host"] == ["shop.example"])
        #expect(headers["accept"] == ["text/html"])
        for name in ["connection", "x-private", "keep-alive", "te", "transfer-encoding"] {
            #expect(!headers.contains(name: name), "\(name)")
        }
    }

    @Test func upgradesKeepConnectionAndUpgrade() {
        let client = HTTPHeaders([("Host", "ws"), ("Connection", "Upgrade"), ("Upgrade", "websocket")])
        let headers = ProxyHeaders.upstream(
            client.map { HeaderField(name: $0.name, value: $0.value) }, client: client, host: "ws",
            clientAddress: nil, scheme: .http, originalHost: "ws", upgrade: "websocket")
        #expect(headers["connection"] == ["upgrade"])
        #expect(headers["upgrade"] == ["websocket"])
        #expect(!headers.contains(name: "x-forwarded-for"))
    }

    @Test func downstreamHeadersApplyResponseModifiers() {
        let upstream = HTTPHeaders([
            ("Content-Length", "3"), ("Connection", "close"), ("Server", "pod"), ("X-Drop", "1"),
        ])
        let headers = ProxyHeaders.downstream(
            upstream,
            modifiers: [
                HeaderModifier(
                    set: [HeaderField(name: "Server", value: "weft")], add: [HeaderField(name: "X-Added", value: "a")],
                    remove: ["x-drop"])
            ], switching: false)
        #expect(headers["content-length"] == ["3"])
        #expect(headers["server"] == ["weft"])
        #expect(headers["x-added"] == ["a"])
        #expect(!headers.contains(name: "x-drop"))
        #expect(!headers.contains(name: "connection"))
        let switching = ProxyHeaders.downstream(
            HTTPHeaders([("Connection", "Upgrade"), ("Upgrade", "websocket")]), modifiers: [], switching: true)
        #expect(switching["upgrade"] == ["websocket"])
        #expect(switching["connection"] == ["Upgrade"])
    }

    @Test(arguments: [
        ("/a?b=c", "/a?b=c"), ("http://x.example/p/q?r", "/p/q?r"), ("https://x.example", "/"),
        ("http://x.example?q", "/?q"), ("*", nil), ("x.example:443", nil), ("relative/path", nil),
    ])
    func requestTargets(uri: String, expected: String?) {
        #expect(ProxyHandler.originForm(uri) == expected)
    }
}
