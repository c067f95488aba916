import NIOCore
import NIOHTTP1
import NIOPosix

/// Keep-alive HTTP/1.1 connections to endpoints, one pool per event loop: a request takes an idle connection of
/// its endpoint or opens one on the loop its client is on, so the client and upstream channels of an exchange
/// share a thread and hand bytes to each other without hops or locks. At most
/// `maxIdleConnectionsPerEndpoint` idle connections per endpoint are kept, each for `idleConnectionTimeout`.
///
/// Why not AsyncHTTPClient: its pool is good, but a proxy needs the request body to stream upstream as the client
/// sends it and the response to stream back with backpressure both ways, and an upgraded (101) connection to turn
/// into a raw byte relay; through AHC's request/response delegate API each of those costs a task hop and
/// copies per chunk, and an upgrade is not possible. The pool here is small because the proxy's needs are.
///
/// Confined to its event loop: every method must be called on `eventLoop` (hence `@unchecked Sendable`, so the
/// server can hold the pools of all loops).
final class UpstreamPool: @unchecked Sendable {
    /// Why a connection could not be had.
    struct ConnectError: Error, CustomStringConvertible {
        var kind: ProxyMetrics.UpstreamErrorKind
        var message: String
        var description: String { message }
    }

    let eventLoop: any EventLoop
    private let configuration: ProxyConfiguration
    private let metrics: ProxyMetrics
    private var idle: [BackendEndpoint: [UpstreamConnection]] = [:]
    private var open: [ObjectIdentifier: any Channel] = [:]
    private var closing = false

    init(eventLoop: any EventLoop, configuration: ProxyConfiguration, metrics: ProxyMetrics) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Idle connections to `endpoint` (for tests).
    func idleCount(_ endpoint: BackendEndpoint) -> Int { idle[endpoint]?.count ?? 0 }

    /// An idle connection to `endpoint` (`reused: true`) or a new one; a new one when `fresh`.
    func acquire(
        _ endpoint: BackendEndpoint, fresh: Bool = false,
        _ completion: @escaping (Result<(connection: UpstreamConnection, reused: Bool), ConnectError>) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        if !fresh {
            while let connection = idle[endpoint]?.popLast() {
                if connection.isUsable {
                    connection.cancelIdleTimer()
                    completion(.success((connection, true)))
                    return
                }
            }
        }
        connect(endpoint, completion)
    }

    /// Hands a connection back after its exchange: kept when `reusable` and there is room, else closed.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        eventLoop.preconditionInEventLoop()
        connection.receiver = nil
        connection.setReadAllowed(true)
        guard reusable, !closing, connection.isUsable,
            idle[connection.endpoint, default: []].count < configuration.maxIdleConnectionsPerEndpoint
        else {
            connection.close()
            return
        }
        connection.completedRequests += 1
        idle[connection.endpoint, default: []].append(connection)
        connection.startIdleTimer(configuration.idleConnectionTimeout.timeAmount)
    }

    /// A connection closed: it leaves the idle list.
    func connectionClosed(_ connection: UpstreamConnection) {
        guard var list = idle[connection.endpoint] else { return }
        list.removeAll { $0 === connection }
        idle[connection.endpoint] = list.isEmpty ? nil : list
    }

    /// Closes every connection, idle or busy; no connection is kept after this.
    func closeAll() {
        eventLoop.preconditionInEventLoop()
        closing = true
        idle = [:]
        for channel in open.values { channel.close(promise: nil) }
    }

    private func connect(
        _ endpoint: BackendEndpoint,
        _ completion: @escaping (Result<(connection: UpstreamConnection, reused: Bool), ConnectError>) -> Void
    ) {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: endpoint.address.description, port: endpoint.port)
        } catch {
            completion(.failure(ConnectError(kind: .connectFailed, message: "bad address \(endpoint): \(error)")))
            return
        }
        let metrics = metrics
        let timeout = configuration.connectTimeout
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(HTTPRequestEncoder())
                    try operations.addHandler(
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try operations.addHandler(UpstreamConnection(endpoint: endpoint))
                }
            }
            .connect(to: address)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard !closing,
                        let connection = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self)
                    else {
                        channel.close(promise: nil)
                        completion(.failure(ConnectError(kind: .connectFailed, message: "the proxy is shutting down")))
                        return
                    }
                    connection.pool = self
                    metrics.upstreamConnectionOpened()
                    let id = ObjectIdentifier(channel)
                    open[id] = channel
                    channel.closeFuture.assumeIsolated().whenComplete { [self] _ in
                        metrics.upstreamConnectionClosed()
                        open[id] = nil
                    }
                    completion(.success((connection, false)))
                case .failure(let error):
                    if let error = error as? ChannelError, case .connectTimeout = error {
                        completion(
                            .failure(
                                ConnectError(
                                    kind: .connectTimeout,
                                    message: "connecting to \(endpoint) timed out after \(timeout)")))
                    } else {
                        completion(
                            .failure(ConnectError(kind: .connectFailed, message: "connecting to \(endpoint): \(error)"))
                        )
                    }
                }
            }
    }
}

extension Duration {
    /// The duration as NIO's `TimeAmount`.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
