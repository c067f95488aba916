import NIOCore
import NIOHTTP1

/// What a leased upstream connection reports to the request using it (on the connection's event loop).
protocol UpstreamReceiver: AnyObject {
    func upstream(_ connection: UpstreamConnection, received part: HTTPClientResponsePart)
    func upstreamReadComplete(_ connection: UpstreamConnection)
    /// The connection closed or failed before the exchange on it was over.
    func upstream(_ connection: UpstreamConnection, failed error: UpstreamConnection.Failure)
    func upstreamWritabilityChanged(_ connection: UpstreamConnection)
}

/// One HTTP/1.1 connection to an endpoint, as the last handler of its channel (after `HTTPRequestEncoder` and the
/// response decoder): it carries one request at a time for its `receiver`, reads only while the receiver's client
/// can take more (`setReadAllowed`), and sits in its event loop's `UpstreamPool` between requests.
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    enum Failure: Error, CustomStringConvertible {
        case closed
        case error(any Error)

        var description: String {
            switch self {
            case .closed: "the connection closed"
            case .error(let error): "\(error)"
            }
        }
    }

    let endpoint: BackendEndpoint
    var receiver: (any UpstreamReceiver)?
    weak var pool: UpstreamPool?
    /// Requests this connection has carried to their end.
    var completedRequests = 0
    private var context: ChannelHandlerContext?
    private var readAllowed = true
    private var pendingRead = false
    private var idleTimer: Scheduled<Void>?

    init(endpoint: BackendEndpoint) { self.endpoint = endpoint }

    var channel: (any Channel)? { context?.channel }

    /// Whether a request can be sent on this connection.
    var isUsable: Bool { context?.channel.isActive ?? false }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func send(_ part: HTTPClientRequestPart) { context?.write(wrapOutboundOut(part), promise: nil) }

    func flush() { context?.flush() }

    func close() {
        receiver = nil
        context?.close(promise: nil)
    }

    /// Reads from the upstream only while the client can take what it sends.
    func setReadAllowed(_ allowed: Bool) {
        readAllowed = allowed
        if allowed && pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    /// Closes the connection after `timeout` unless `cancelIdleTimer` comes first.
    func startIdleTimer(_ timeout: TimeAmount) {
        guard let context else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            self.close()
        }
    }

    func cancelIdleTimer() {
        idleTimer?.cancel()
        idleTimer = nil
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelIdleTimer()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard let receiver else {
            // Nothing is asked of an idle connection: whatever it says makes it unusable.
            context.close(promise: nil)
            return
        }
        receiver.upstream(self, received: part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        receiver?.upstreamReadComplete(self)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelIdleTimer()
        let receiver = self.receiver
        self.receiver = nil
        receiver?.upstream(self, failed: .closed)
        pool?.connectionClosed(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let receiver = self.receiver
        self.receiver = nil
        receiver?.upstream(self, failed: .error(error))
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        receiver?.upstreamWritabilityChanged(self)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if readAllowed || receiver == nil {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
