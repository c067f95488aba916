import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import WeftNet

/// kube-proxy's service health server (`pkg/proxy/healthcheck`): for each service with
/// `externalTrafficPolicy: Local` and a `healthCheckNodePort`, an HTTP server on that port, on all of the node's
/// addresses, that load balancers ask whether this node has endpoints of the service. Any request gets
///
///     {"service":{"namespace":"N","name":"S"},"localEndpoints":K,"serviceProxyHealthy":true}
///
/// with 200 when K > 0 and the proxy is healthy, else 503 (send no traffic here).
///
/// `update` opens the listeners of new services, closes those of services that are gone (or moved to another
/// port), and changes the counts of the others in place. A port that cannot be opened (in use) is logged and
/// tried again on the next update. Calls to `update` must not overlap (the proxy makes them one after another).
public actor ServiceHealthServer {
    /// One service's health check: where it listens and what it answers.
    public struct Check: Sendable, Hashable {
        public var namespace: String
        public var name: String
        public var port: Int
        public var localEndpoints: Int

        public init(namespace: String, name: String, port: Int, localEndpoints: Int) {
            self.namespace = namespace
            self.name = name
            self.port = port
            self.localEndpoints = localEndpoints
        }

        var id: String { "\(namespace)/\(name)" }
    }

    /// One service's server. It is stopped by a graceful shutdown of its group, never by cancelling its task:
    /// a connection accepted while a cancelled NIO server winds down traps ("Deinited NIOAsyncWriter without
    /// calling finish()", swift-nio issues 2637 and 3481), and load balancers probe these ports all the time.
    private struct Listener {
        var port: Int
        var group: ServiceGroup
        var task: Task<Void, Never>
    }

    /// The services' local endpoint counts, by `namespace/name`, read by the request handlers.
    private final class Counts: Sendable {
        let values = Mutex<[String: Int]>([:])
    }

    private let counts = Counts()
    private var listeners: [String: Listener] = [:]
    private let hosts: [String]
    private let proxyHealthy: @Sendable () -> Bool
    private let logger: Logger

    /// Listens on `host`, or (nil) on all addresses: `::` (which takes IPv4 too), or `0.0.0.0` where the node has
    /// no IPv6. `proxyHealthy` goes into every answer (`serviceProxyHealthy`; false answers 503).
    public init(
        host: String? = nil, proxyHealthy: @escaping @Sendable () -> Bool = { true },
        logger: Logger = Logger(label: "weft.agent.healthcheck")
    ) {
        hosts = host.map { [$0] } ?? ["::", "0.0.0.0"]
        self.proxyHealthy = proxyHealthy
        self.logger = logger
    }

    /// The ports listened on, by `namespace/name`.
    public var openPorts: [String: Int] { listeners.mapValues(\.port) }

    /// Makes `checks` the services served.
    public func update(_ checks: [Check]) async {
        var wanted: [String: Check] = [:]
        for check in checks where wanted[check.id] == nil { wanted[check.id] = check }
        counts.values.withLock { $0 = wanted.mapValues(\.localEndpoints) }
        for (id, listener) in listeners.sorted(by: { $0.key < $1.key }) where wanted[id]?.port != listener.port {
            logger.info("closing health check", metadata: ["service": "\(id)", "port": "\(listener.port)"])
            await close(id)
        }
        for (id, check) in wanted.sorted(by: { $0.key < $1.key }) where listeners[id] == nil {
            do {
                listeners[id] = try await open(check)
                logger.info("opened health check", metadata: ["service": "\(id)", "port": "\(check.port)"])
            } catch {
                logger.error(
                    "cannot open health check, retrying at the next sync",
                    metadata: ["service": "\(id)", "port": "\(check.port)", "error": "\(error)"])
            }
        }
    }

    /// Closes every listener.
    public func closeAll() async {
        for id in listeners.keys.sorted() { await close(id) }
    }

    /// Stops a listener and waits until its port is closed.
    private func close(_ id: String) async {
        guard let listener = listeners[id] else { return }
        await listener.group.triggerGracefulShutdown()
        await listener.task.value
        listeners[id] = nil
    }

    /// Serves `check` until its task is cancelled; returns once the server accepts connections.
    private func open(_ check: Check) async throws -> Listener {
        let counts = counts
        let proxyHealthy = proxyHealthy
        let responder = CallbackResponder<BasicRequestContext> { _, _ in
            let count = counts.values.withLock { $0[check.id] } ?? 0
            return Self.response(
                namespace: check.namespace, name: check.name, localEndpoints: count, proxyHealthy: proxyHealthy())
        }
        var serverLogger = logger
        serverLogger.logLevel = max(serverLogger.logLevel, .warning)
        var failure: any Error = Closed()
        for host in hosts {
            let (events, continuation) = AsyncStream.makeStream(of: (any Error)?.self)
            let application = Application(
                responder: responder,
                configuration: ApplicationConfiguration(address: .hostname(host, port: check.port)),
                onServerRunning: { _ in continuation.yield(nil) }, logger: serverLogger)
            var configuration = ServiceGroupConfiguration(services: [application], logger: serverLogger)
            configuration.maximumGracefulShutdownDuration = .seconds(5)
            let group = ServiceGroup(configuration: configuration)
            let task = Task {
                do {
                    try await group.run()
                    continuation.yield(Closed())
                } catch {
                    continuation.yield(error)
                }
                continuation.finish()
            }
            var iterator = events.makeAsyncIterator()
            guard let error = await iterator.next() ?? Closed() else {
                return Listener(port: check.port, group: group, task: task)
            }
            await task.value
            failure = error
        }
        throw failure
    }

    /// kube-proxy's answer.
    static func response(namespace: String, name: String, localEndpoints: Int, proxyHealthy: Bool) -> Response {
        let body =
            "{\"service\":{\"namespace\":\(JSONValue.string(namespace).serializedString),"
            + "\"name\":\(JSONValue.string(name).serializedString)},\"localEndpoints\":\(localEndpoints),"
            + "\"serviceProxyHealthy\":\(proxyHealthy)}\n"
        return Response(
            status: localEndpoints > 0 && proxyHealthy ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json", .init("X-Content-Type-Options")!: "nosniff"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// The server stopped before it accepted connections.
    struct Closed: Error, CustomStringConvertible {
        var description: String { "the server stopped" }
    }
}
