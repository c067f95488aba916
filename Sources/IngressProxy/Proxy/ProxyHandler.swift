import Logging
import NIOCore
import NIOHTTP1
import PrometheusText

/// Serves one client connection (HTTP/1.1, after `configureHTTPServerPipeline`) or one HTTP/2 stream (after
/// `HTTP2FramePayloadToHTTP1ServerCodec`): routes each request with the route table current when its head
/// arrived, answers what it can itself (404, redirects, limits, malformed requests), and forwards the rest over
/// a pooled upstream connection on the same event loop — bodies streamed both ways, each side reading only while
/// the other can write. A `101 Switching Protocols` from the upstream turns both channels into a byte relay.
///
/// One request at a time: NIO's `HTTPServerPipelineHandler` holds pipelined requests back until the response
/// before them is done, and an HTTP/2 stream carries one request.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: IngressProxyServer
    private let pool: UpstreamPool
    private let listener: ProxyListener
    private let isHTTP2: Bool
    private var context: ChannelHandlerContext?
    private var exchange: ProxyExchange?
    private var headerTimer: Scheduled<Void>?
    private var pendingRead = false
    private var upstreamNeedsFlush = false
    /// Requests that had their head read on this connection.
    private var requestCount = 0

    /// Bytes of request body held while the upstream connection is being made; past it the client is not read.
    static let pendingBodyLimit = 256 * 1024

    init(server: IngressProxyServer, pool: UpstreamPool, listener: ProxyListener, isHTTP2: Bool) {
        self.server = server
        self.pool = pool
        self.listener = listener
        self.isHTTP2 = isHTTP2
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startHeaderTimer() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelHeaderTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startHeaderTimer()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): receiveHead(head)
        case .body(let buffer): receiveBody(buffer)
        case .end: receiveEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            exchange?.connection?.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelHeaderTimer()
        if let exchange {
            abandon(exchange, reason: "client went away")
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.connection?.setReadAllowed(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError {
            let exchange =
                self.exchange ?? ProxyExchange(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "-"))
            self.exchange = exchange
            if !exchange.responseStarted && !exchange.responseDone {
                exchange.keepAlive = false
                if exchange.connection != nil { detachUpstream(exchange, reusable: false) }
                if parserError == .headerOverflow {
                    answer(
                        exchange, status: .requestHeaderFieldsTooLarge,
                        reason: "request header fields larger than \(server.configuration.maxHeaderBytes) bytes")
                } else {
                    answer(exchange, status: .badRequest, reason: "malformed HTTP request: \(parserError)")
                }
                return
            }
        }
        if let exchange { abandon(exchange, reason: "\(error)") }
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, holdsReads(exchange) {
            pendingRead = true
        } else {
            context.read()
        }
    }

    private func holdsReads(_ exchange: ProxyExchange) -> Bool {
        switch exchange.phase {
        case .connecting: exchange.pendingBytes >= Self.pendingBodyLimit
        case .forwarding: !(exchange.connection?.isWritable ?? true)
        case .answered, .switched: false
        }
    }

    private func resumeReadingIfHeld() {
        guard pendingRead, let context else { return }
        if let exchange, holdsReads(exchange) { return }
        pendingRead = false
        context.read()
    }

    // MARK: - The request

    private func receiveHead(_ head: HTTPRequestHead) {
        cancelHeaderTimer()
        guard exchange == nil else {
            // Only after an early answer whose request end never came; nothing sensible is left to do.
            context?.close(promise: nil)
            return
        }
        requestCount += 1
        let exchange = ProxyExchange(head: head)
        exchange.keepAlive = isHTTP2 || head.isKeepAlive
        self.exchange = exchange
        let configuration = server.configuration

        if isHTTP2 {
            // HTTP/1 heads are limited by the decoder; HTTP/2 ones are measured here.
            let size = head.headers.reduce(head.uri.utf8.count + head.method.rawValue.utf8.count) {
                $0 + $1.name.utf8.count + $1.value.utf8.count + 4
            }
            if size > configuration.maxHeaderBytes {
                return answer(
                    exchange, status: .requestHeaderFieldsTooLarge,
                    reason: "request header fields larger than \(configuration.maxHeaderBytes) bytes")
            }
        }
        let hosts = head.headers["host"]
        exchange.host = hosts.first ?? ""
        if hosts.count > 1 || (hosts.isEmpty && head.version == .http1_1) {
            exchange.keepAlive = false
            return answer(
                exchange, status: .badRequest,
                reason: hosts.isEmpty ? "the request has no Host header" : "the request has several Host headers")
        }
        let lengths = head.headers["content-length"]
        if let text = lengths.first {
            guard lengths.allSatisfy({ $0 == text }), let length = Int(text), length >= 0 else {
                exchange.keepAlive = false
                return answer(exchange, status: .badRequest, reason: "invalid Content-Length")
            }
            if length > configuration.maxBodyBytes {
                exchange.keepAlive = false
                return answer(
                    exchange, status: .payloadTooLarge,
                    reason: "request body of \(length) bytes is larger than \(configuration.maxBodyBytes) bytes")
            }
        }
        guard let target = Self.originForm(head.uri) else {
            exchange.keepAlive = false
            return answer(exchange, status: .badRequest, reason: "the request target must be a path")
        }
        if !isHTTP2, head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" }),
            let upgrade = head.headers.first(name: "upgrade")
        {
            exchange.upgrade = upgrade
        }
        let request = RoutingRequest(
            port: listener.routingPort, scheme: listener.scheme, host: exchange.host, target: target,
            method: head.method.rawValue, headers: head.headers.map { HeaderField(name: $0.name, value: $0.value) })
        exchange.path = request.path
        let decision: RouteDecision
        switch server.currentTable.route(request) {
        case .failure(let notFound):
            return answer(exchange, status: .notFound, reason: notFound.description)
        case .success(let route):
            exchange.route = route.source.description
            decision = route.decide(request, draw: UInt64.random(in: .min ... .max))
        }
        switch decision {
        case .reject(let status, let reason):
            answer(exchange, status: HTTPResponseStatus(statusCode: status), reason: reason)
        case .redirect(let status, let location):
            answer(
                exchange, status: HTTPResponseStatus(statusCode: status), reason: "redirecting to \(location)",
                headers: [("location", location)])
        case .forward(let forward):
            exchange.forward = forward
            let headers = ProxyHeaders.upstream(
                forward.request.headers, client: head.headers, host: forward.request.host,
                clientAddress: context?.channel.remoteAddress?.ipAddress, scheme: listener.scheme,
                originalHost: exchange.host, upgrade: exchange.upgrade)
            exchange.upstreamHead = HTTPRequestHead(
                version: .http1_1, method: head.method, uri: forward.request.target, headers: headers)
            exchange.retryable = [.GET, .HEAD, .OPTIONS, .PUT, .DELETE].contains(head.method)
            exchange.phase = .connecting
            attempt(exchange)
        }
    }

    /// The origin-form target of `uri`: itself when it is a path, the path of an absolute-form URI (RFC 9112
    /// §3.2.2, which a server must accept), `nil` for anything else.
    static func originForm(_ uri: String) -> String? {
        if uri.hasPrefix("/") { return uri }
        for scheme in ["http://", "https://"] where uri.lowercased().hasPrefix(scheme) {
            let rest = uri.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            let target = String(rest[slash...])
            return target.hasPrefix("?") ? "/" + target : target
        }
        return nil
    }

    private func receiveBody(_ buffer: ByteBuffer) {
        guard let exchange else { return }
        exchange.bodyBytes += buffer.readableBytes
        if exchange.bodyBytes > server.configuration.maxBodyBytes, exchange.phase != .switched {
            return bodyTooLarge(exchange)
        }
        switch exchange.phase {
        case .answered, .switched:
            break
        case .connecting:
            exchange.pending.append(buffer)
            exchange.pendingBytes += buffer.readableBytes
        case .forwarding:
            exchange.connection?.send(.body(.byteBuffer(buffer)))
            exchange.bodyForwarded = true
            upstreamNeedsFlush = true
        }
    }

    private func receiveEnd() {
        guard let exchange else { return }
        exchange.requestEnded = true
        switch exchange.phase {
        case .connecting, .switched:
            break
        case .forwarding:
            if let connection = exchange.connection {
                connection.send(.end(nil))
                exchange.endSent = true
                connection.flush()
                upstreamNeedsFlush = false
            }
        case .answered:
            if exchange.responseDone { complete(exchange) }
        }
    }

    private func bodyTooLarge(_ exchange: ProxyExchange) {
        exchange.keepAlive = false
        let limit = server.configuration.maxBodyBytes
        if exchange.responseStarted || exchange.responseDone {
            abandon(exchange, reason: "request body larger than \(limit) bytes")
            context?.close(promise: nil)
            return
        }
        if exchange.connection != nil { detachUpstream(exchange, reusable: false) }
        answer(exchange, status: .payloadTooLarge, reason: "request body larger than \(limit) bytes")
    }

    // MARK: - Upstream

    private func attempt(_ exchange: ProxyExchange, fresh: Bool = false) {
        guard let forward = exchange.forward else { return }
        let configuration = server.configuration
        guard exchange.attempts < max(configuration.maxAttempts, 1),
            let endpoint = server.balancer.pick(
                backend: forward.backend, endpoints: forward.endpoints, excluding: exchange.tried)
        else {
            let failure = exchange.lastFailure ?? (.serviceUnavailable, "\(forward.backend) has no endpoint to try")
            return answer(exchange, status: failure.status, reason: failure.reason)
        }
        exchange.attempts += 1
        exchange.tried.insert(endpoint)
        exchange.endpoint = endpoint
        pool.acquire(endpoint, fresh: fresh) { [self] result in
            guard self.exchange === exchange, exchange.phase == .connecting else {
                // The request ended (client gone, body too large) while connecting.
                if case .success(let lease) = result { pool.release(lease.connection, reusable: true) }
                server.balancer.finished(endpoint)
                return
            }
            switch result {
            case .success(let lease):
                if !lease.reused { server.balancer.connectSucceeded(endpoint) }
                dispatch(exchange, on: lease.connection, reused: lease.reused)
            case .failure(let error):
                server.balancer.finished(endpoint)
                server.metrics.recordUpstreamError(error.kind)
                if server.balancer.connectFailed(endpoint) {
                    server.metrics.recordEjection()
                    server.logger.warning(
                        "endpoint ejected",
                        metadata: ["endpoint": "\(endpoint)", "backend": "\(forward.backend)", "error": "\(error)"])
                }
                exchange.lastFailure = (
                    error.kind == .connectTimeout ? .gatewayTimeout : .badGateway,
                    "upstream \(forward.backend) failed: \(error)"
                )
                if exchange.retryable && !exchange.bodyForwarded {
                    attempt(exchange)
                } else {
                    answer(exchange, status: exchange.lastFailure!.status, reason: exchange.lastFailure!.reason)
                }
            }
        }
    }

    private func dispatch(_ exchange: ProxyExchange, on connection: UpstreamConnection, reused: Bool) {
        guard var head = exchange.upstreamHead, let context else { return }
        exchange.connection = connection
        exchange.reused = reused
        exchange.phase = .forwarding
        connection.receiver = self
        connection.setReadAllowed(context.channel.isWritable)
        if !head.headers.contains(name: "content-length") {
            if exchange.requestEnded && exchange.pending.isEmpty {
                if head.method == .POST || head.method == .PUT || head.method == .PATCH {
                    head.headers.add(name: "content-length", value: "0")
                }
            } else {
                head.headers.add(name: "transfer-encoding", value: "chunked")
            }
        }
        connection.send(.head(head))
        while let buffer = exchange.pending.popFirst() {
            connection.send(.body(.byteBuffer(buffer)))
            exchange.bodyForwarded = true
        }
        exchange.pendingBytes = 0
        if exchange.requestEnded {
            connection.send(.end(nil))
            exchange.endSent = true
        }
        connection.flush()
        let timeout = server.configuration.requestTimeout
        exchange.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout.timeAmount) { [self] in
            self.requestTimedOut(exchange, after: timeout)
        }
        resumeReadingIfHeld()
    }

    private func requestTimedOut(_ exchange: ProxyExchange, after timeout: Duration) {
        guard self.exchange === exchange, exchange.phase == .forwarding, !exchange.responseStarted else { return }
        server.metrics.recordUpstreamError(.timeout)
        let endpoint = exchange.endpoint.map(\.description) ?? "-"
        detachUpstream(exchange, reusable: false)
        answer(
            exchange, status: .gatewayTimeout,
            reason: "upstream \(exchange.forward?.backend ?? "") (\(endpoint)) did not answer within \(timeout)")
    }

    /// Ends the exchange's use of its upstream connection: back to the pool when `reusable`, else closed.
    private func detachUpstream(_ exchange: ProxyExchange, reusable: Bool) {
        exchange.timer?.cancel()
        exchange.timer = nil
        guard let connection = exchange.connection else { return }
        exchange.connection = nil
        if let endpoint = exchange.endpoint { server.balancer.finished(endpoint) }
        if reusable {
            pool.release(connection, reusable: true)
        } else {
            connection.close()
        }
    }

    // MARK: - Answers

    /// Answers the request with a short text body saying why; closes the connection after it unless keep-alive.
    private func answer(
        _ exchange: ProxyExchange, status: HTTPResponseStatus, reason: String, headers extra: [(String, String)] = []
    ) {
        guard let context else { return }
        if exchange.connection != nil { detachUpstream(exchange, reusable: false) }
        exchange.phase = .answered
        exchange.status = Int(status.code)
        exchange.detail = reason
        if !exchange.requestEnded && !isHTTP2 {
            // The rest of the body is read and dropped; a client that sends more than the limit is cut off.
            if exchange.bodyBytes > server.configuration.maxBodyBytes { exchange.keepAlive = false }
        }
        var body = context.channel.allocator.buffer(capacity: reason.utf8.count + 1)
        body.writeString(reason + "\n")
        var headers = HTTPHeaders(extra)
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        if !isHTTP2 && !exchange.keepAlive { headers.add(name: "connection", value: "close") }
        exchange.responseStarted = true
        context.write(
            wrapOutboundOut(
                .head(HTTPResponseHead(version: responseVersion(exchange), status: status, headers: headers))),
            promise: nil)
        if exchange.head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        finishResponse(exchange, trailers: nil)
    }

    private func responseVersion(_ exchange: ProxyExchange) -> HTTPVersion {
        isHTTP2 ? exchange.head.version : .http1_1
    }

    /// Writes the response's end, logs and counts the exchange, and goes on with the connection.
    private func finishResponse(_ exchange: ProxyExchange, trailers: HTTPHeaders?) {
        guard let context else { return }
        exchange.responseDone = true
        if !exchange.keepAlive && !isHTTP2 {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
        }
        record(exchange)
        if exchange.requestEnded || isHTTP2 {
            complete(exchange)
        } else {
            exchange.phase = .answered
        }
    }

    /// The request and its response are both over: ready for the next request on a keep-alive connection.
    private func complete(_ exchange: ProxyExchange) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        pendingRead = false
        if exchange.keepAlive && !isHTTP2 { startHeaderTimer() }
        context?.read()
    }

    /// The exchange cannot go on (client gone, a failure mid-response): upstream closed, logged and counted.
    private func abandon(_ exchange: ProxyExchange, reason: String) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        if exchange.connection != nil { detachUpstream(exchange, reusable: false) }
        exchange.timer?.cancel()
        if !exchange.responseDone && exchange.phase != .switched {
            if exchange.status == 0 { exchange.status = 499 }
            exchange.detail = reason
            record(exchange)
        }
    }

    private func record(_ exchange: ProxyExchange) {
        let duration = ContinuousClock.now - exchange.started
        server.metrics.recordRequest(route: exchange.route, status: exchange.status, duration: duration)
        let milliseconds = Int((duration.inSeconds * 1000).rounded())
        var metadata: Logger.Metadata = ["route": "\(exchange.route)"]
        if let detail = exchange.detail { metadata["detail"] = "\(detail)" }
        server.logger.info(
            "\(exchange.head.method.rawValue) \(exchange.host) \(exchange.path ?? exchange.head.uri) \(exchange.status) upstream=\(exchange.endpoint?.description ?? "-") \(milliseconds)ms",
            metadata: metadata)
    }

    // MARK: - Header timeout (slowloris)

    private func startHeaderTimer() {
        guard !isHTTP2, headerTimer == nil, let context else { return }
        let timeout = server.configuration.headerReadTimeout
        headerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout.timeAmount) { [self] in
            self.headerTimer = nil
            guard self.exchange == nil, let context = self.context else { return }
            server.logger.debug(
                "closing a client that sent no complete request head in time",
                metadata: ["client": "\(context.channel.remoteAddress?.description ?? "-")", "timeout": "\(timeout)"])
            context.close(promise: nil)
        }
    }

    private func cancelHeaderTimer() {
        headerTimer?.cancel()
        headerTimer = nil
    }
}

// MARK: - UpstreamReceiver

extension ProxyHandler: UpstreamReceiver {
    func upstream(_ connection: UpstreamConnection, received part: HTTPClientResponsePart) {
        guard let exchange, exchange.connection === connection, let context else {
            connection.close()
            return
        }
        switch part {
        case .head(let head):
            exchange.timer?.cancel()
            exchange.timer = nil
            let modifiers = exchange.forward?.responseHeaders ?? []
            if head.status == .switchingProtocols {
                guard exchange.upgrade != nil else {
                    detachUpstream(exchange, reusable: false)
                    server.metrics.recordUpstreamError(.protocolError)
                    return answer(
                        exchange, status: .badGateway, reason: "upstream switched protocols without being asked to")
                }
                exchange.switching = true
                exchange.status = 101
                exchange.responseStarted = true
                let headers = ProxyHeaders.downstream(head.headers, modifiers: modifiers, switching: true)
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: head.status, headers: headers))),
                    promise: nil)
                return
            }
            exchange.upstreamKeepAlive = head.isKeepAlive
            exchange.responseStarted = true
            exchange.status = Int(head.status.code)
            // A request that asked for an upgrade stops the request decoder; the connection cannot go on.
            if exchange.upgrade != nil { exchange.keepAlive = false }
            var headers = ProxyHeaders.downstream(head.headers, modifiers: modifiers, switching: false)
            if !isHTTP2 {
                if !exchange.keepAlive {
                    headers.add(name: "connection", value: "close")
                } else if exchange.head.version == .http1_0 {
                    headers.add(name: "connection", value: "keep-alive")
                }
            }
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: responseVersion(exchange), status: head.status, headers: headers))),
                promise: nil)
        case .body(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end(let trailers):
            if exchange.switching { return switchToRelay(exchange, connection) }
            let reusable = exchange.upstreamKeepAlive && exchange.endSent
            detachUpstream(exchange, reusable: reusable)
            if !exchange.requestEnded && !isHTTP2 {
                // Answered before the client finished sending: its remaining body is dropped.
                exchange.phase = .answered
            }
            finishResponse(exchange, trailers: trailers)
        }
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        context?.flush()
    }

    func upstream(_ connection: UpstreamConnection, failed error: UpstreamConnection.Failure) {
        guard let exchange, exchange.connection === connection else { return }
        exchange.connection = nil
        exchange.timer?.cancel()
        exchange.timer = nil
        if let endpoint = exchange.endpoint { server.balancer.finished(endpoint) }
        if !exchange.responseStarted {
            if exchange.reused && exchange.retryable && !exchange.bodyForwarded {
                // A pooled connection the upstream had already closed: again on a new connection.
                exchange.phase = .connecting
                exchange.endSent = false
                exchange.attempts -= 1
                if let endpoint = exchange.endpoint { exchange.tried.remove(endpoint) }
                exchange.reused = false
                return attempt(exchange, fresh: true)
            }
            server.metrics.recordUpstreamError(.reset)
            return answer(
                exchange, status: .badGateway,
                reason:
                    "upstream \(exchange.forward?.backend ?? "") (\(connection.endpoint)) failed before answering: \(error)"
            )
        }
        // The response was cut short: so is the client's.
        server.metrics.recordUpstreamError(.reset)
        exchange.keepAlive = false
        abandon(exchange, reason: "upstream failed mid-response: \(error)")
        context?.close(promise: nil)
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        resumeReadingIfHeld()
    }

    // MARK: - Upgrades

    /// After a `101` from the upstream: both channels lose their HTTP handlers and relay bytes to each other.
    private func switchToRelay(_ exchange: ProxyExchange, _ connection: UpstreamConnection) {
        guard let context, let upstream = connection.channel else { return }
        exchange.phase = .switched
        exchange.responseDone = true
        connection.receiver = nil
        if let endpoint = exchange.endpoint { server.balancer.finished(endpoint) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        record(exchange)
        self.exchange = nil
        let (clientGlue, upstreamGlue) = GlueHandler.matchedPair()
        do {
            let client = context.pipeline.syncOperations
            try client.addHandler(clientGlue)
            try client.removeHandler(client.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
            try client.removeHandler(client.handler(type: HTTPServerPipelineHandler.self), promise: nil)
            if let validator = try? client.handler(type: NIOHTTPResponseHeadersValidator.self) {
                client.removeHandler(validator, promise: nil)
            }
            try client.removeHandler(client.handler(type: HTTPResponseEncoder.self), promise: nil)
            let server = upstream.pipeline.syncOperations
            try server.addHandler(upstreamGlue)
            server.removeHandler(connection, promise: nil)
            try server.removeHandler(server.handler(type: HTTPRequestEncoder.self), promise: nil)
            try server.removeHandler(server.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self), promise: nil)
            client.removeHandler(context: context, promise: nil)
        } catch {
            self.server.logger.warning("could not switch to a byte relay", metadata: ["error": "\(error)"])
            upstream.close(promise: nil)
            context.close(promise: nil)
            return
        }
        upstream.read()
        context.channel.read()
    }
}
