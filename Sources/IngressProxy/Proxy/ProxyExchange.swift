import NIOCore
import NIOHTTP1

/// One request passing through a `ProxyHandler`, from its head to the end of its response: what was decided, how
/// far each direction has got, and what the access log and metrics say about it. Lives on the client's event loop.
final class ProxyExchange {
    enum Phase {
        /// Waiting for a connection to an endpoint; request body held in `pending`.
        case connecting
        /// Sent upstream; the response streams back.
        case forwarding
        /// Answered by the proxy itself (or the response ended first); the rest of the request body is dropped.
        case answered
        /// Upgraded to a byte relay.
        case switched
    }

    let head: HTTPRequestHead
    let started = ContinuousClock.now
    var phase = Phase.answered
    var keepAlive = true
    var host = ""
    var path: String?
    /// The matched route as the metrics label it (`none`: no route).
    var route = "none"
    var forward: Forward?
    var upstreamHead: HTTPRequestHead?
    /// The `Upgrade` the client asked for.
    var upgrade: String?
    var retryable = false
    var tried: Set<BackendEndpoint> = []
    var attempts = 0
    var lastFailure: (status: HTTPResponseStatus, reason: String)?
    var pending = CircularBuffer<ByteBuffer>()
    var pendingBytes = 0
    var bodyBytes = 0
    var requestEnded = false
    var endSent = false
    var bodyForwarded = false
    var connection: UpstreamConnection?
    var endpoint: BackendEndpoint?
    /// Whether `connection` came from the pool.
    var reused = false
    var timer: Scheduled<Void>?
    var upstreamKeepAlive = true
    var switching = false
    var responseStarted = false
    var responseDone = false
    var status = 0
    /// Why the proxy answered as it did, for the access log.
    var detail: String?

    init(head: HTTPRequestHead) { self.head = head }
}
