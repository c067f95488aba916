import KubeModel
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// Weft's reverse proxy: HTTP/1.1 and, over TLS, HTTP/2 (ALPN `h2`, else `http/1.1`) from clients on the
/// listeners it is given, routed with the current `RouteTable` to pooled HTTP/1.1 upstream connections.
///
/// `update(table:certificates:)` swaps the table and certificates in at once without touching open connections:
/// a request is routed with the table current when its head arrived and keeps its upstream connection to its end,
/// and an upgraded connection (a WebSocket) relays bytes until either side closes; only later requests and TLS
/// handshakes see the new table.
public final class IngressProxyServer: Sendable {
    /// The routing state requests and handshakes read, swapped whole.
    final class Snapshot: Sendable {
        let table: RouteTable
        let certificates: [ObjectKey: TLSCertificate]

        init(table: RouteTable, certificates: [ObjectKey: TLSCertificate]) {
            self.table = table
            self.certificates = certificates
        }
    }

    public let configuration: ProxyConfiguration
    public let metrics: ProxyMetrics
    public let balancer: EndpointBalancer
    let logger: Logger
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let defaultCertificate: TLSCertificate
    private let snapshot: Mutex<Snapshot>
    private let pools: [ObjectIdentifier: UpstreamPool]
    private let listening = Mutex<[(listener: ProxyListener, channel: any Channel)]>([])
    private let metricsChannels = Mutex<[any Channel]>([])

    /// A proxy routing with `table`. `defaultCertificate` is served when no Secret covers a handshake (a
    /// self-signed one is made when `nil`); `group` defaults to `configuration.eventLoops` event loops, shut down with
    /// the proxy.
    public init(
        configuration: ProxyConfiguration = ProxyConfiguration(), table: RouteTable = RouteTable(RouteTable.Objects()),
        certificates: [ObjectKey: TLSCertificate] = [:], defaultCertificate: TLSCertificate? = nil,
        group: (any EventLoopGroup)? = nil, logger: Logger = Logger(label: "weft.ingress")
    ) throws {
        self.configuration = configuration
        self.logger = logger
        metrics = ProxyMetrics()
        balancer = EndpointBalancer(
            balancing: configuration.balancing, ejectionThreshold: configuration.ejectionThreshold,
            ejectionDuration: configuration.ejectionDuration)
        self.defaultCertificate = try defaultCertificate ?? DefaultCertificate.make()
        snapshot = Mutex(Snapshot(table: table, certificates: certificates))
        if let group {
            self.group = group
            ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoops))
            ownsGroup = true
        }
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in self.group.makeIterator() {
            pools[ObjectIdentifier(loop)] = UpstreamPool(
                eventLoop: loop, configuration: configuration, metrics: metrics)
        }
        self.pools = pools
    }

    /// The table requests are routed with now.
    public var currentTable: RouteTable { snapshot.withLock { $0 }.table }

    /// Swaps in a new table and certificates (by Secret); requests and connections already going on are left as
    /// they are.
    public func update(table: RouteTable, certificates: [ObjectKey: TLSCertificate]) {
        let new = Snapshot(table: table, certificates: certificates)
        snapshot.withLock { $0 = new }
        metrics.recordTableUpdate()
    }

    /// Starts accepting connections on `listener`; returns the port bound (useful with port 0).
    @discardableResult
    public func listen(_ listener: ProxyListener) async throws -> Int {
        let sslContext = listener.scheme == .https ? try makeSSLContext(routingPort: listener.routingPort) : nil
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                metrics.clientConnectionOpened()
                channel.closeFuture.whenComplete { [metrics] _ in metrics.clientConnectionClosed() }
                if let sslContext {
                    return configureHTTPS(channel, listener: listener, sslContext: sslContext)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try self.configureHTTP1(channel, listener: listener)
                }
            }
            .bind(host: listener.host, port: listener.port)
            .get()
        listening.withLock { $0.append((listener, channel)) }
        let port = channel.localAddress?.port ?? listener.port
        logger.info("listening", metadata: ["listener": "\(listener)", "port": "\(port)"])
        return port
    }

    /// Serves `GET /metrics` and `GET /healthz` on `host:port`; returns the port bound.
    @discardableResult
    public func listenMetrics(host: String, port: Int) async throws -> Int {
        let metrics = metrics
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: { metrics.render() }))
                }
            }
            .bind(host: host, port: port)
            .get()
        metricsChannels.withLock { $0.append(channel) }
        return channel.localAddress?.port ?? port
    }

    /// The listeners accepting connections, with the ports they are bound to.
    public var listeners: [(listener: ProxyListener, port: Int)] {
        listening.withLock { list in list.map { ($0.listener, $0.channel.localAddress?.port ?? $0.listener.port) } }
    }

    /// Stops accepting connections on the listeners whose routing port is `routingPort`; connections already
    /// accepted go on.
    public func stopListening(routingPort: Int) async {
        let closing = listening.withLock { list in
            let closing = list.filter { $0.listener.routingPort == routingPort }
            list.removeAll { $0.listener.routingPort == routingPort }
            return closing.map(\.channel)
        }
        for channel in closing { try? await channel.close() }
    }

    /// Stops accepting, waits up to `grace` for open client connections to finish, then closes every connection
    /// and (if the proxy made it) shuts the event loops down.
    public func shutdown(grace: Duration = .zero) async throws {
        var channels = listening.withLock { list in
            defer { list = [] }
            return list.map(\.channel)
        }
        channels += metricsChannels.withLock { list in
            defer { list = [] }
            return list
        }
        for channel in channels { try? await channel.close() }
        let deadline = ContinuousClock.now + grace
        while metrics.openClientConnections > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for pool in pools.values {
            try? await pool.eventLoop.submit { pool.closeAll() }.get()
        }
        if ownsGroup { try await group.shutdownGracefully() }
    }

    /// The upstream pool of `eventLoop`.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        guard let pool = pools[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("a channel on an event loop the proxy does not know")
        }
        return pool
    }

    /// Idle upstream connections to `endpoint` on every loop (for tests).
    func idleConnections(to endpoint: BackendEndpoint) async throws -> Int {
        var total = 0
        for pool in pools.values { total += try await pool.eventLoop.submit { pool.idleCount(endpoint) }.get() }
        return total
    }

    // MARK: - Pipelines

    func configureHTTP1(_ channel: any Channel, listener: ProxyListener) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldSize = configuration.maxHeaderBytes
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: true, withErrorHandling: false, withOutboundHeaderValidation: true,
            withEncoderConfiguration: HTTPResponseEncoder.Configuration(), withDecoderLimitConfiguration: limits)
        try channel.pipeline.syncOperations.addHandler(
            ProxyHandler(server: self, pool: pool(for: channel.eventLoop), listener: listener, isHTTP2: false))
    }

    private func configureHTTPS(
        _ channel: any Channel, listener: ProxyListener, sslContext: NIOSSLContext
    ) -> EventLoopFuture<Void> {
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        // A client gets as long to finish its handshake as to send a request head.
        let handshakeTimer = channel.eventLoop.scheduleTask(in: configuration.headerReadTimeout.timeAmount) {
            channel.close(promise: nil)
        }
        return channel.configureHTTP2SecureUpgrade(
            h2ChannelConfigurator: { [self] channel in
                handshakeTimer.cancel()
                return channel.configureHTTP2Pipeline(mode: .server) { [self] stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                        try stream.pipeline.syncOperations.addHandler(
                            ProxyHandler(
                                server: self, pool: pool(for: stream.eventLoop), listener: listener, isHTTP2: true))
                    }
                }.map { _ in }
            },
            http1ChannelConfigurator: { [self] channel in
                handshakeTimer.cancel()
                return channel.eventLoop.makeCompletedFuture { try self.configureHTTP1(channel, listener: listener) }
            })
    }

    /// The TLS context of an HTTPS listener: the default certificate, and per handshake the certificate the
    /// current table chooses for the SNI name on `routingPort`.
    private func makeSSLContext(routingPort: Int) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: defaultCertificate.chain.map { .certificate($0) },
            privateKey: .privateKey(defaultCertificate.key))
        tls.applicationProtocols = ["h2", "http/1.1"]
        tls.sslContextCallback = { [self] values, promise in
            let snapshot = self.snapshot.withLock { $0 }
            switch snapshot.table.certificate(port: routingPort, serverName: values.serverHostname) {
            case .secret(let key):
                guard let certificate = snapshot.certificates[key] else {
                    // The Secret is missing or did not load: the default certificate it is.
                    return promise.succeed(.noChanges)
                }
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = certificate.chain.map { .certificate($0) }
                override.privateKey = .privateKey(certificate.key)
                promise.succeed(override)
            case .default:
                promise.succeed(.noChanges)
            }
        }
        return try NIOSSLContext(configuration: tls)
    }
}
