import NIOCore
import NIOHTTP1

/// Stamps `X-Pod-Name` on every response head that passes, including the 400 that NIO's protocol error handler
/// sends for a request it cannot parse: sits right after the response encoder, below every handler that answers.
final class PodNameHeaderHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    static let headerName = "X-Pod-Name"
    private let podName: String

    init(podName: String) { self.podName = podName }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        head.headers.replaceOrAdd(name: Self.headerName, value: podName)
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
