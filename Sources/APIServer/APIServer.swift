import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KubeModel
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import WeftNet

/// An embedded Kubernetes-compatible API server: the REST API of every kind in `Resources.all`, stored generically
/// as JSON in SQLite, with watch, discovery, bearer tokens and TLS — enough for `kubectl` and the Weft agent.
///
/// ```swift
/// let server = try APIServer(configuration: .init(dataDir: "/var/lib/weft"))
/// let address = try await server.start()   // https://127.0.0.1:6443
/// ...
/// await server.shutdown()
/// ```
/// Or as a `Service` in a `ServiceGroup`: `run()` serves until cancelled or gracefully shut down.
public final class APIServer: ServiceLifecycle.Service, Sendable {
    /// What `/version` reports.
    public static let gitVersion = "v1.32.0-weft"

    /// Where the server listens once started.
    public struct Address: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var tls: Bool

        /// `https://127.0.0.1:6443`.
        public var url: String {
            let hostPart = host.contains(":") ? "[\(host)]" : host
            return "\(tls ? "https" : "http")://\(hostPart):\(port)"
        }
    }

    public let configuration: APIServerConfiguration
    /// The store (for embedding code that wants to read or seed objects without HTTP).
    public let store: ObjectStore
    /// The generated tokens (nil when authentication is off).
    public let credentials: Credentials?
    /// PEM of the CA that signed the serving certificate (nil without TLS).
    public let caCertificatePEM: String?
    private let pki: PKI?
    private let state = Mutex<RunState>(RunState())

    private struct RunState: Sendable {
        var task: Task<Void, any Error>?
        var group: ServiceGroup?
        var address: Address?
    }

    /// Opens the data directory: the database, the PKI and the tokens (each created on first start).
    public init(configuration: APIServerConfiguration) throws {
        self.configuration = configuration
        try FileManager.default.createDirectory(atPath: configuration.dataDir, withIntermediateDirectories: true)
        store = try ObjectStore(path: configuration.dataDir + "/state.db", ringCapacity: configuration.watchHistory)
        if configuration.tls {
            let pki = try PKI.loadOrCreate(
                directory: configuration.dataDir + "/pki",
                subjectAlternativeNames: configuration.subjectAlternativeNames + [configuration.host])
            self.pki = pki
            caCertificatePEM = pki.caCertificatePEM
        } else {
            pki = nil
            caCertificatePEM = nil
        }
        credentials = configuration.authentication ? try Credentials.loadOrCreate(dataDir: configuration.dataDir) : nil
    }

    /// The admin kubeconfig's path (written by `start()`).
    public var kubeconfigPath: String { configuration.dataDir + "/kubeconfig" }

    /// The address the server listens on, once started.
    public var address: Address? { state.withLock { $0.address } }

    /// Starts serving in the background; returns the bound address (with the real port when `port` was 0) once the
    /// server accepts connections, after writing `DATADIR/kubeconfig`.
    @discardableResult
    public func start() async throws -> Address {
        var registry = Registry(store: store, admission: Admission(configuration: configuration))
        registry.gracefulPodDeletion = configuration.gracefulPodDeletion
        try await registry.bootstrap()
        let handler = APIHandler(
            registry: registry, authenticator: credentials?.authenticator, maxBodySize: configuration.maxBodySize,
            bookmarkInterval: configuration.bookmarkInterval, defaultWatchTimeout: configuration.defaultWatchTimeout,
            resources: Resources.all)
        var logger = Logger(label: "weft.apiserver")
        logger.logLevel = .warning
        let server: HTTPServerBuilder
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionCloseHandler()])
        if let pki {
            let tlsConfiguration = TLSConfiguration.makeServerConfiguration(
                certificateChain: [
                    .certificate(try NIOSSLCertificate(bytes: Array(pki.servingCertificatePEM.utf8), format: .pem))
                ],
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.servingKeyPEM.utf8), format: .pem)))
            server = try .tls(.http1(configuration: http1), tlsConfiguration: tlsConfiguration)
        } else {
            server = .http1(configuration: http1)
        }
        let (bound, boundContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            responder: handler, server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                boundContinuation.yield(channel.localAddress?.port ?? 0)
                boundContinuation.finish()
            },
            logger: logger)
        let store = store
        let controllers: [any ServiceLifecycle.Service] =
            configuration.controllers
            ? [
                EndpointSliceController(store: store), SchedulerController(store: store),
                DeploymentController(store: store), DaemonSetController(store: store),
            ] : []
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [application, EventTTLController(store: store, ttl: configuration.eventTTL)] + controllers,
                logger: logger))
        let task = Task {
            defer { boundContinuation.finish() }
            try await withTaskCancellationHandler {
                try await group.run()
            } onCancel: {
                Task { await store.finishAllWatches() }
            }
        }
        try state.withLock { state in
            if state.task != nil {
                task.cancel()
                throw APIServerError.alreadyStarted
            }
            state.task = task
            state.group = group
        }
        var port: Int?
        for await value in bound { port = value }
        guard let port, port > 0 else {
            state.withLock { $0.task = nil }
            switch await task.result {
            case .failure(let error): throw APIServerError.failedToStart(String(describing: error))
            case .success: throw APIServerError.failedToStart("the server stopped")
            }
        }
        let address = Address(host: configuration.host, port: port, tls: pki != nil)
        state.withLock { $0.address = address }
        let advertised =
            configuration.advertiseAddress
            ?? (["0.0.0.0", "::"].contains(configuration.host) || IPAddress(configuration.host) == nil
                ? "127.0.0.1" : configuration.host)
        try await registry.ensureKubernetesService(host: advertised, port: port)
        if let credentials {
            try PKI.writeSecret(
                Credentials.kubeconfig(
                    server: address.url.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1"),
                    caPEM: caCertificatePEM, token: credentials.adminToken),
                to: kubeconfigPath)
        }
        return address
    }

    /// Serves until the task is cancelled or the service group shuts down gracefully.
    public func run() async throws {
        if state.withLock({ $0.task }) == nil { try await start() }
        guard let task = state.withLock({ $0.task }) else { return }
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await task.value
            } onCancel: {
                task.cancel()
            }
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
    }

    /// Serves until SIGTERM or SIGINT (for the `weft apiserver` command), printing where it listens.
    public func runUntilTerminated() async throws {
        let address = try await start()
        print("weft apiserver: serving on \(address.url); admin kubeconfig: \(kubeconfigPath)")
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "weft.apiserver"))
        )
        try await group.run()
    }

    /// Stops serving: ends open watches, stops accepting connections, lets requests in flight finish (cancelling
    /// them after `gracePeriod`), and waits until the server has stopped.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        let (task, group) = state.withLock { state in
            defer {
                state.task = nil
                state.group = nil
                state.address = nil
            }
            return (state.task, state.group)
        }
        guard let task else { return }
        await store.finishAllWatches()
        await group?.triggerGracefulShutdown()
        let deadline = Task {
            try await Task.sleep(for: gracePeriod)
            task.cancel()
        }
        _ = await task.result
        deadline.cancel()
    }
}
