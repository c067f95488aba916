import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `weft dns`'s listeners: UDP and TCP on each address, answering through the `DNSResponder`. UDP is a
/// `UDPFastPath` (a thread of its own with recvmmsg/sendmmsg batches and a cache of the zone's encoded answers);
/// TCP is NIO (RFC 7766: two-byte length before each message, several queries on one connection, answers in any
/// order; an idle connection is closed after `idleTimeout`).
public final class DNSServer: ServiceLifecycle.Service {
    public let responder: DNSResponder
    private let channels: [any Channel]
    private let udp: [UDPFastPath]
    private let logger: Logger

    /// The ports bound, in the order of the addresses (useful with port 0).
    public let boundPorts: [Int]

    private init(responder: DNSResponder, channels: [any Channel], udp: [UDPFastPath], ports: [Int], logger: Logger) {
        self.responder = responder
        self.channels = channels
        self.udp = udp
        boundPorts = ports
        self.logger = logger
    }

    /// Binds UDP and TCP on each of `addresses` (host and port; port 0 picks one, the same for UDP and TCP).
    public static func start(
        responder: DNSResponder, addresses: [(host: String, port: Int)], idleTimeout: TimeAmount = .seconds(10),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "weft.dns")
    ) async throws -> DNSServer {
        var channels: [any Channel] = []
        var udp: [UDPFastPath] = []
        var ports: [Int] = []
        do {
            for (host, port) in addresses {
                let listener = try UDPFastPath(responder: responder, host: host, port: port)
                udp.append(listener)
                let bound = listener.port
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                            try pipeline.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                            try pipeline.addHandler(TCPQueryHandler(responder: responder))
                        }
                    }
                    .bind(host: host, port: bound).get()
                channels.append(tcp)
                ports.append(bound)
            }
            for listener in udp { try listener.start() }
        } catch {
            for listener in udp { listener.close() }
            for channel in channels { try? await channel.close() }
            throw error
        }
        return DNSServer(responder: responder, channels: channels, udp: udp, ports: ports, logger: logger)
    }

    /// Serves until graceful shutdown or cancellation, then closes the listeners.
    public func run() async throws {
        let channels = channels
        let udp = udp
        await withTaskCancellationOrGracefulShutdownHandler {
            for channel in channels { try? await channel.closeFuture.get() }
        } onCancelOrGracefulShutdown: {
            for channel in channels { channel.close(promise: nil) }
        }
        for listener in udp { listener.close() }
    }

    public func close() async {
        for listener in udp { listener.close() }
        for channel in channels { try? await channel.close() }
    }
}

/// Queries on one TCP connection.
final class TCPQueryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let responder: DNSResponder

    init(responder: DNSResponder) { self.responder = responder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        switch responder.handle(bytes, transport: .tcp) {
        case .drop:
            context.close(promise: nil)
        case .reply(let answer):
            context.writeAndFlush(wrapOutboundOut(Self.frame(answer, context.channel.allocator)), promise: nil)
        case .forward(let pending):
            responder.finish(pending, on: context.channel) { answer, allocator in Self.frame(answer, allocator) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    static func frame(_ message: [UInt8], _ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: message.count + 2)
        buffer.writeInteger(UInt16(message.count))
        buffer.writeBytes(message)
        return buffer
    }
}

extension DNSResponder {
    /// Finishes a forwarded query in a task and writes its answer, made into what the channel carries by `wrap`.
    func finish<Message: Sendable>(
        _ pending: Pending, on channel: any Channel,
        wrap: @escaping @Sendable ([UInt8], ByteBufferAllocator) -> Message
    ) {
        Task {
            let answer = await finish(pending)
            guard !answer.isEmpty else { return }
            channel.writeAndFlush(wrap(answer, channel.allocator), promise: nil)
        }
    }
}

/// Splits a TCP stream into DNS messages: each is preceded by its length in two bytes (RFC 1035 §4.2.2).
struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
            buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}
