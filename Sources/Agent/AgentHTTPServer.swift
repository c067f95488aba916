import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The agent's small HTTP endpoint: `GET /healthz` (200 `ok`, or 503 with the overlay's and the service proxy's
/// reasons) and `GET /metrics` (Prometheus text format).
public struct AgentHTTPServer: ServiceLifecycle.Service {
    public let host: String
    public let port: Int
    public let metrics: AgentMetrics
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// Serves on `host:port` (port 0: any free port, reported to `onListening` once the server accepts
    /// connections).
    public init(
        host: String, port: Int, metrics: AgentMetrics, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until cancelled or until its service group shuts down gracefully.
    public func run() async throws {
        let router = Router()
        let metrics = metrics
        router.get("healthz") { _, _ -> Response in
            let health = metrics.health
            return Self.text(health.message + "\n", status: health.healthy ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, _ -> Response in
            Self.text(metrics.prometheusText(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        let onListening = onListening
        let application = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
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
