import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `weft serve` (agnhost `netexec`): the program pods run in the lab. HTTP (`EchoHTTPHandler`), UDP
/// (`EchoUDPHandler`) and optionally SCTP (`SCTPEchoServer`) on every address of the pod, IPv4 and IPv6, each
/// answering with the pod's name; every HTTP response carries `X-Pod-Name`.
///
/// `start` binds everything (or nothing: a port that is taken or SCTP that the kernel lacks fails the start), `run`
/// serves until graceful shutdown or cancellation, as a `Service`; `close` stops it directly.
public final class EchoServer: Service, Sendable {
    /// What to serve, and where.
    public struct Configuration: Sendable {
        /// The name served: `PodName.current()` unless a test says otherwise.
        public var podName: String
        /// The HTTP port; 0 lets the kernel pick one.
        public var httpPort: Int
        /// The UDP port (0: the kernel picks one), or nil for no UDP server.
        public var udpPort: Int?
        /// The SCTP port (0: the kernel picks one), or nil for no SCTP server.
        public var sctpPort: Int?

        public init(
            podName: String = PodName.current(), httpPort: Int = 8080, udpPort: Int? = 8081, sctpPort: Int? = nil
        ) {
            self.podName = podName
            self.httpPort = httpPort
            self.udpPort = udpPort
            self.sctpPort = sctpPort
        }
    }

    /// The name this server answers with.
    public let podName: String
    /// The HTTP port it listens on.
    public let httpPort: Int
    /// The UDP port it listens on, if any.
    public let udpPort: Int?
    /// The SCTP port it listens on, if any.
    public var sctpPort: Int? { sctp?.port }

    private let httpChannel: any Channel
    private let udpChannel: (any Channel)?
    private let sctp: SCTPEchoServer?
    private let connections: ConnectionTracker

    private init(
        podName: String, httpChannel: any Channel, httpPort: Int, udpChannel: (any Channel)?, udpPort: Int?,
        sctp: SCTPEchoServer?, connections: ConnectionTracker
    ) {
        self.podName = podName
        self.httpChannel = httpChannel
        self.httpPort = httpPort
        self.udpChannel = udpChannel
        self.udpPort = udpPort
        self.sctp = sctp
        self.connections = connections
    }

    /// Binds every server of `configuration` on `group`; when one fails, those already bound are closed.
    public static func start(
        _ configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> EchoServer {
        let podName = configuration.podName
        let sctp = try configuration.sctpPort.map { port throws(ServeError) in
            try SCTPEchoServer(port: port, podName: podName)
        }
        let connections = ConnectionTracker()
        var httpChannel: (any Channel)?
        do {
            let http = try ListeningSocket.open(
                type: Int32(SOCK_STREAM.rawValue), proto: Int32(IPPROTO_TCP), port: configuration.httpPort,
                what: "HTTP")
            let listener = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    connections.add(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.configureHTTPServerPipeline()
                        let encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
                        try pipeline.addHandler(PodNameHeaderHandler(podName: podName), position: .after(encoder))
                        try pipeline.addHandler(EchoHTTPHandler(podName: podName))
                    }
                }
                .withBoundSocket(http.descriptor).get()
            httpChannel = listener
            var udpChannel: (any Channel)?
            var udpPort: Int?
            if let port = configuration.udpPort {
                let udp = try ListeningSocket.open(
                    type: Int32(SOCK_DGRAM.rawValue), proto: Int32(IPPROTO_UDP), port: port, what: "UDP")
                udpChannel = try await DatagramBootstrap(group: group)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(EchoUDPHandler(podName: podName))
                        }
                    }
                    .withBoundSocket(udp.descriptor).get()
                udpPort = udp.port
            }
            return EchoServer(
                podName: podName, httpChannel: listener, httpPort: http.port, udpChannel: udpChannel,
                udpPort: udpPort, sctp: sctp, connections: connections)
        } catch {
            try? await httpChannel?.close()
            sctp?.stop()
            throw error
        }
    }

    /// One line for the log: the name and the ports.
    public var summary: String {
        var text = "pod \(podName): http \(httpPort)"
        if let udpPort { text += ", udp \(udpPort)" }
        if let sctpPort { text += ", sctp \(sctpPort)" }
        return text + " (all addresses)"
    }

    /// Serves until graceful shutdown or cancellation, then closes everything.
    public func run() async throws {
        let listener = httpChannel
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await listener.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            listener.close(promise: nil)
        }
        await close()
    }

    /// Stops listening, ends open connections and waits until everything is closed. Safe to call more than once.
    public func close() async {
        httpChannel.close(promise: nil)
        udpChannel?.close(promise: nil)
        try? await httpChannel.closeFuture.get()
        try? await udpChannel?.closeFuture.get()
        await connections.closeAll()
        sctp?.stop()
    }

    /// Runs the server as the only service of a `ServiceGroup` that shuts it down gracefully on SIGTERM or SIGINT.
    public func runUntilTerminated() async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "weft.serve")))
        try await group.run()
    }
}
