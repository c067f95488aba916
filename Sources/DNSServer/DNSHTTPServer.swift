import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `weft dns`'s HTTP endpoint: `GET /health` (200 while serving, as CoreDNS's `health`), `GET /ready` (200 once
/// the informers have synced, else 503, as CoreDNS's `ready`) and `GET /metrics` (Prometheus text).
public struct DNSHTTPServer: ServiceLifecycle.Service {
    let host: String
    let port: Int
    let zones: ZoneStore
    let metrics: DNSMetrics
    let logger: Logger

    public init(host: String, port: Int, zones: ZoneStore, metrics: DNSMetrics, logger: Logger) {
        self.host = host
        self.port = port
        self.zones = zones
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        let zones = zones
        let metrics = metrics
        router.get("health") { _, _ in Self.text("OK\n") }
        router.get("ready") { _, _ in
            zones.isReady ? Self.text("OK\n") : Self.text("waiting for the first lists\n", status: .serviceUnavailable)
        }
        router.get("metrics") { _, _ in
            Self.text(metrics.prometheusText(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        let application = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            logger: logger)
        try await application.run()
    }

    private static func text(
        _ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8"
    ) -> Response {
        Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
