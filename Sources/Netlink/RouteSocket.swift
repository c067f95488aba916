import CWeftLinux
import Glibc
import Synchronization

/// One open `NETLINK_ROUTE` socket.
///
/// The socket is bound to the network namespace it was created in: pass `netns:` (the socket is then created on a
/// dedicated thread inside that namespace) or create it inside ``NetNS/run(_:)``. It can then be used from any
/// thread; requests are serialised by a lock. Every change is sent with `NLM_F_ACK` and waits for the kernel's
/// answer, so a method that returns has been applied.
public final class RouteSocket: @unchecked Sendable {
    private let socket: NetlinkSocket

    /// Opens a socket in `netns`, or in the calling thread's namespace when `netns` is nil.
    public init(netns: NetNS? = nil) throws {
        socket = try NetlinkSocket(netlinkProtocol: NETLINK_ROUTE, netns: netns)
    }

    /// Closes the socket. Later requests fail with `EBADF`. Safe to call more than once.
    public func close() { socket.close() }

    /// Sends a request with `NLM_F_ACK` and returns the data messages the kernel sent before its ack.
    @discardableResult
    func request(_ message: MessageBuilder, _ operation: () -> String) throws -> [NetlinkMessage] {
        try socket.request(message, operation)
    }

    /// Sends a dump request and returns every message up to `NLMSG_DONE`; an interrupted dump is retried.
    func dump(_ message: MessageBuilder, _ operation: () -> String) throws -> [NetlinkMessage] {
        try socket.dump(message, operation)
    }
}
