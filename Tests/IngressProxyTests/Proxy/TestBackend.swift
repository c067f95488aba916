import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An upstream for the loopback tests, on 127.0.0.1 and a free port: answers every request with lines naming
/// itself and what it received (`backend=`, `method=`, `path=`, `host=`, `xff=`, `xfp=`, `xfh=`, `body=` bytes,
/// and each header as `header.NAME=`); `/slow/MS` answers after MS milliseconds; an `Upgrade` request to `/ws`
/// gets `101` and the connection echoes bytes back prefixed with `NAME:`.
final class TestBackend: Sendable {
    /// A count shared with the accepting channel's initializer.
    private final class Counter: Sendable {
        let value = Mutex(0)
    }

    let name: String
    let channel: any Channel
    private let accepted: Counter

    var port: Int { channel.localAddress!.port! }

    /// Connections accepted so far.
    var connections: Int { accepted.value.withLock { $0 } }

    private init(name: String, channel: any Channel, accepted: Counter) {
        self.name = name
        self.channel = channel
        self.accepted = accepted
    }

    static func start(_ name: String, group: any EventLoopGroup) async throws -> TestBackend {
        let accepted = Counter()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.value.withLock { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: false, withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(name: name))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestBackend(name: name, channel: channel, accepted: accepted)
    }

    func close() async { try? await channel.close() }
}

private final class BackendHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    init(name: String) { self.name = name }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyBytes = 0
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            guard let head else { return }
            self.head = nil
            if head.uri == "/ws", head.headers.contains(name: "upgrade") { return upgrade(context: context) }
            var delay = 0
            if head.uri.hasPrefix("/slow/") { delay = Int(head.uri.dropFirst("/slow/".count)) ?? 0 }
            var lines = [
                "backend=\(name)", "method=\(head.method.rawValue)", "path=\(head.uri)",
                "host=\(head.headers.first(name: "host") ?? "")",
                "xff=\(head.headers.first(name: "x-forwarded-for") ?? "")",
                "xfp=\(head.headers.first(name: "x-forwarded-proto") ?? "")",
                "xfh=\(head.headers.first(name: "x-forwarded-host") ?? "")", "body=\(bodyBytes)",
            ]
            lines += head.headers.map { "header.\($0.name.lowercased())=\($0.value)" }
            let text = lines.joined(separator: "\n") + "\n"
            let keepAlive = head.isKeepAlive
            let respond: () -> Void = { [self] in
                var body = context.channel.allocator.buffer(capacity: text.utf8.count)
                body.writeString(text)
                var headers = HTTPHeaders([("content-length", "\(body.readableBytes)"), ("x-backend", name)])
                if !keepAlive { headers.add(name: "connection", value: "close") }
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if !keepAlive { channel.close(promise: nil) }
                }
            }
            if delay > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay))) { respond() }
            } else {
                respond()
            }
        }
    }

    private func upgrade(context: ChannelHandlerContext) {
        let headers = HTTPHeaders([("connection", "Upgrade"), ("upgrade", "websocket"), ("x-backend", name)])
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))),
            promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        let operations = context.pipeline.syncOperations
        do {
            try operations.addHandler(EchoHandler(prefix: name + ":"))
            try operations.removeHandler(
                operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
            if let validator = try? operations.handler(type: NIOHTTPResponseHeadersValidator.self) {
                operations.removeHandler(validator, promise: nil)
            }
            if let errors = try? operations.handler(type: HTTPServerProtocolErrorHandler.self) {
                operations.removeHandler(errors, promise: nil)
            }
            try operations.removeHandler(operations.handler(type: HTTPResponseEncoder.self), promise: nil)
            operations.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }
}

/// Echoes each read back with a prefix.
private final class EchoHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let prefix: String

    init(prefix: String) { self.prefix = prefix }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        var out = context.channel.allocator.buffer(capacity: buffer.readableBytes + prefix.utf8.count)
        out.writeString(prefix)
        out.writeBuffer(&buffer)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}
