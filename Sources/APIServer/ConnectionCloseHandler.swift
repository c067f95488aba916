import NIOCore
import Synchronization

/// Tells a long response (a watch) that its client has gone: the client closed its side of the connection
/// (`ChannelEvent.inputClosed`; Hummingbird allows half-closure, so the channel itself stays open until the response
/// ends) or the connection dropped. Go's `net/http`, and so kube-apiserver, cancels a request's context on the same
/// signal. One per connection, added after HTTP decoding.
final class ConnectionCloseHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    /// HTTP request parts pass through untouched (the default `channelRead` forwards them).
    typealias InboundIn = NIOAny

    private let state = Mutex<(closed: Bool, callbacks: [@Sendable () -> Void])>((false, []))

    /// Runs `callback` once the client has gone (at once if it already has).
    func onClose(_ callback: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state in
            if state.closed { return true }
            state.callbacks.append(callback)
            return false
        }
        if runNow { callback() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed? = event as? ChannelEvent { close() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }

    private func close() {
        let callbacks = state.withLock { state in
            defer { state = (true, []) }
            return state.closed ? [] : state.callbacks
        }
        for callback in callbacks { callback() }
    }
}
