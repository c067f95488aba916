import DNS
import NIOCore
import NIOPosix

/// `UpstreamTransport` over the network with SwiftNIO: the query in one UDP datagram from a fresh connected socket, the
/// first answer with the query's id taken; a truncated answer asked again over TCP (RFC 7766 §5).
public struct NIOUpstreamTransport: UpstreamTransport {
    let group: any EventLoopGroup

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) { self.group = group }

    public struct Timeout: Error, CustomStringConvertible {
        public var description: String { "timed out" }
    }

    public struct BadAnswer: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "unreadable answer: \(reason)" }
    }

    public func exchange(_ query: DNSMessage, with upstream: Upstream, timeout: Duration) async throws -> DNSMessage {
        let answer = try await udp(query, upstream, timeout)
        guard answer.truncated else { return answer }
        return try await tcp(query, upstream, timeout)
    }

    private func udp(_ query: DNSMessage, _ upstream: Upstream, _ timeout: Duration) async throws -> DNSMessage {
        let address = try SocketAddress.makeAddressResolvingHost(upstream.host, port: upstream.port)
        let promise = group.next().makePromise(of: [UInt8].self)
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        FirstAnswerHandler(id: query.id, from: address, promise: promise))
                }
            }
            // Connected, so that an ICMP "port unreachable" fails the exchange at once instead of at the timeout.
            .connect(to: address).get()
        defer { channel.close(promise: nil) }
        let bytes = query.encode()
        try await channel.writeAndFlush(
            AddressedEnvelope(remoteAddress: address, data: channel.allocator.buffer(bytes: bytes)))
        return try await Self.decode(Self.awaitWithTimeout(promise, timeout, on: channel.eventLoop))
    }

    private func tcp(_ query: DNSMessage, _ upstream: Upstream, _ timeout: Duration) async throws -> DNSMessage {
        let promise = group.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + 1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(FirstFrameHandler(promise: promise))
                }
            }
            .connect(host: upstream.host, port: upstream.port).get()
        defer { channel.close(promise: nil) }
        try await channel.writeAndFlush(TCPQueryHandler.frame(query.encode(), channel.allocator))
        return try await Self.decode(Self.awaitWithTimeout(promise, timeout, on: channel.eventLoop))
    }

    private static func awaitWithTimeout(
        _ promise: EventLoopPromise<[UInt8]>, _ timeout: Duration, on loop: any EventLoop
    ) async throws -> [UInt8] {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let timer = loop.scheduleTask(in: .nanoseconds(nanoseconds)) { promise.fail(Timeout()) }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    private static func decode(_ bytes: [UInt8]) throws -> DNSMessage {
        do {
            return try DNSMessage(decoding: bytes)
        } catch {
            throw BadAnswer(reason: error.description)
        }
    }
}

/// Completes its promise with the first datagram from the upstream that carries the query's id.
final class FirstAnswerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let id: UInt16
    let from: SocketAddress
    let promise: EventLoopPromise<[UInt8]>

    init(id: UInt16, from: SocketAddress, promise: EventLoopPromise<[UInt8]>) {
        self.id = id
        self.from = from
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == from,
            envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self) == id
        else { return }
        promise.succeed(Array(envelope.data.readableBytesView))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { promise.fail(error) }
}

/// Completes its promise with the first message on the connection.
final class FirstFrameHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let promise: EventLoopPromise<[UInt8]>

    init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        promise.succeed(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { promise.fail(error) }
}
