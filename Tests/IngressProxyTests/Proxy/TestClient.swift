import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A response as the tests see it.
struct TestResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String

    /// The value of a `key=value` line of a `TestBackend` answer.
    func line(_ key: String) -> String? {
        body.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }
}

/// One HTTP/1.1 client connection (plain or TLS) that sends requests one after another and collects responses.
final class TestConnection: Sendable {
    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    /// Connects to 127.0.0.1:`port`; with `tls`, does a TLS handshake sending `serverName` as SNI.
    static func connect(
        port: Int, group: any EventLoopGroup, tls: NIOSSLContext? = nil, serverName: String? = nil
    ) async throws -> TestConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return TestConnection(channel: channel)
    }

    func request(
        _ method: HTTPMethod = .GET, _ path: String, host: String, headers: [(String, String)] = [],
        body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "host", value: host)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body, !head.headers.contains(name: "content-length") {
            head.headers.add(name: "content-length", value: "\(body.readableBytes)")
        }
        let promise = channel.eventLoop.makePromise(of: TestResponse.self)
        Self.failAfterDeadline(promise, channel: channel, what: "\(method) \(host)\(path)")
        channel.writeAndFlush(TestRequest(head: head, body: body, promise: promise), promise: nil)
        return try await promise.futureResult.get()
    }

    /// A test waits 20 s at most for a response.
    static func failAfterDeadline(
        _ promise: EventLoopPromise<TestResponse>, channel: any Channel, what: String
    ) {
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(20)) {
            promise.fail(TestTimeout(what: what))
            channel.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
    }

    /// The certificate the server presented (TLS connections).
    func peerCertificate() async throws -> NIOSSLCertificate? {
        let channel = self.channel
        return try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate
        }.get()
    }

    func close() async { try? await channel.close() }

    /// One request over a new connection.
    static func request(
        port: Int, group: any EventLoopGroup, _ method: HTTPMethod = .GET, _ path: String, host: String,
        headers: [(String, String)] = [], body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        let connection = try await connect(port: port, group: group)
        do {
            let response = try await connection.request(method, path, host: host, headers: headers, body: body)
            await connection.close()
            return response
        } catch {
            await connection.close()
            throw error
        }
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "no response to \(what) within 20 s" }
}

struct TestRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var promise: EventLoopPromise<TestResponse>
}

/// Writes `TestRequest`s and completes their promises in order with the responses.
private final class ResponseCollector: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = TestRequest
    typealias OutboundOut = HTTPClientRequestPart

    private var waiting = CircularBuffer<EventLoopPromise<TestResponse>>()
    private var current: TestResponse?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.promise)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            current = TestResponse(status: Int(head.status.code), headers: head.headers, body: "")
        case .body(let buffer):
            current?.body += String(buffer: buffer)
        case .end:
            if let response = current { waiting.popFirst()?.succeed(response) }
            current = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(ChannelError.ioOnClosedChannel) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        while let promise = waiting.popFirst() { promise.fail(error) }
        context.close(promise: nil)
    }
}

/// HTTP/2 over TLS with ALPN `h2`: one request on a new stream of a new connection. The HTTP/2 handlers are in
/// place before the handshake ends, so the server's first frames find them.
enum TestHTTP2Client {
    static func request(
        port: Int, group: any EventLoopGroup, tls: NIOSSLContext, serverName: String, path: String
    ) async throws -> TestResponse {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init(),
                        inboundStreamInitializer: { $0.eventLoop.makeSucceededVoidFuture() })
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        do {
            let promise = channel.eventLoop.makePromise(of: TestResponse.self)
            let stream = try await channel.eventLoop.flatSubmit {
                let created = channel.eventLoop.makePromise(of: (any Channel).self)
                do {
                    let multiplexer = try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self)
                        .syncMultiplexer()
                    multiplexer.createStreamChannel(promise: created) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(
                                HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                            try stream.pipeline.syncOperations.addHandler(ResponseCollector())
                        }
                    }
                } catch {
                    created.fail(error)
                }
                return created.futureResult
            }.get()
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "host", value: serverName)
            TestConnection.failAfterDeadline(promise, channel: channel, what: "h2 GET \(serverName)\(path)")
            stream.writeAndFlush(TestRequest(head: head, body: nil, promise: promise), promise: nil)
            let response = try await promise.futureResult.get()
            try? await channel.close()
            return response
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// A plain TCP client for what HTTP clients do not send: raw bytes in, bytes out until the server closes.
enum RawClient {
    /// Sends `text`, then reads until the server closes or `limit` passes; returns what was read and whether the
    /// server closed (a server that closed before the text could be written — a loaded machine — counts as
    /// closed with nothing read).
    static func exchange(
        port: Int, group: any EventLoopGroup, send text: String, limit: Duration = .seconds(5)
    ) async throws -> (received: String, closed: Bool) {
        let channel = try await connect(port: port, group: group)
        return try await channel.executeThenClose { inbound, outbound in
            do {
                try await outbound.write(ByteBuffer(string: text))
            } catch ChannelError.ioOnClosedChannel {
                return ("", true)
            }
            let received = Collected()
            let closed = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for try await buffer in inbound { received.text.withLock { $0 += String(buffer: buffer) } }
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return false
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            return (received.text.withLock { $0 }, closed)
        }
    }

    private final class Collected: Sendable {
        let text = Mutex("")
    }

    static func connect(port: Int, group: any EventLoopGroup) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: group)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }
}
