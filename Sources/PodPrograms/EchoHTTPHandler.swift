import NIOCore
import NIOHTTP1

/// The HTTP side of `weft serve` (agnhost netexec's endpoints that Weft's tests use): `/hostname` (also agnhost's
/// older `/hostName`), `/clientip`, `/echo?msg=X`, `/healthz`; any other path is 404. Every method is answered
/// alike; keep-alive is honoured. `PodNameHeaderHandler` adds `X-Pod-Name` to each response.
final class EchoHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let podName: String
    private var request: HTTPRequestHead?

    init(podName: String) { self.podName = podName }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    /// A request that does not parse (answered 400 by NIO's error handler before this) or a broken connection:
    /// close it.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let (status, body) = Self.route(uri: head.uri, client: context.remoteAddress, podName: podName)
        var headers: HTTPHeaders = [
            "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(body.utf8.count),
        ]
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            let buffer = context.channel.allocator.buffer(string: body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !head.isKeepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The status and body for a request target; `client` is the peer's address, for `/clientip`.
    static func route(uri: String, client: SocketAddress?, podName: String) -> (HTTPResponseStatus, String) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = parts.count > 1 ? parts[1] : ""
        switch parts[0] {
        case "/hostname", "/hostName":
            return (.ok, podName)
        case "/clientip":
            return (.ok, client?.clientText ?? "")
        case "/echo":
            return (.ok, HTTPQuery.value(of: "msg", in: query) ?? "")
        case "/healthz":
            return (.ok, "ok")
        default:
            // Go's net/http answers unknown paths with this body; agnhost clients may match on it.
            return (.notFound, "404 page not found\n")
        }
    }
}
