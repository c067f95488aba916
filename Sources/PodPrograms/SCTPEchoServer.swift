import Glibc
import NIOCore
import Synchronization

/// The SCTP side of `weft serve`, as agnhost netexec's: one-to-one associations accepted one at a time, each
/// answered once (an `EchoCommand`) and closed.
///
/// It runs on a thread of its own with blocking calls rather than on NIO: NIO's server bootstrap sets `TCP_NODELAY`
/// on its listening socket, which an SCTP socket refuses. Whether the kernel supports SCTP is checked by opening
/// the socket, which makes the kernel load the `sctp` module if it can (as `modprobe sctp` would).
final class SCTPEchoServer: Sendable {
    /// The port it listens on.
    let port: Int
    private let podName: String
    private let listener: Int32
    /// A pipe whose read end wakes the thread up to stop when the write end is written to.
    private let wakeup: (read: Int32, write: Int32)
    private let thread = Mutex<pthread_t?>(nil)

    /// How long an accepted association may take to send its message.
    private static let readTimeoutMilliseconds: Int32 = 5000

    /// Listens on `port` (0: the kernel picks one) on every address and starts serving.
    init(port: Int, podName: String) throws(ServeError) {
        let (descriptor, boundPort) = try ListeningSocket.open(
            type: Int32(SOCK_STREAM.rawValue), proto: Int32(IPPROTO_SCTP), port: port, what: "SCTP")
        listener = descriptor
        self.port = boundPort
        self.podName = podName
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            close(listener)
            throw ServeError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        wakeup = (pipeEnds[0], pipeEnds[1])
        _ = fcntl(wakeup.read, F_SETFD, FD_CLOEXEC)
        _ = fcntl(wakeup.write, F_SETFD, FD_CLOEXEC)
        var handle = pthread_t()
        let box = Unmanaged.passRetained(self)
        let rc = pthread_create(
            &handle, nil,
            { argument in
                Unmanaged<SCTPEchoServer>.fromOpaque(argument!).takeRetainedValue().serve()
                return nil
            }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            close(listener)
            close(wakeup.read)
            close(wakeup.write)
            throw ServeError("cannot start the SCTP thread: \(String(cString: strerror(rc)))")
        }
        thread.withLock { $0 = handle }
    }

    /// Stops serving and waits for the thread; closes the socket. Only the first call does anything.
    func stop() {
        let running = thread.withLock { state in
            let handle = state
            state = nil
            return handle
        }
        guard let handle = running else { return }
        var byte: UInt8 = 1
        _ = write(wakeup.write, &byte, 1)
        pthread_join(handle, nil)
        close(listener)
        close(wakeup.read)
        close(wakeup.write)
    }

    private func serve() {
        while true {
            guard waitReadable(listener, timeout: -1) else { return }
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let connection = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            guard connection >= 0 else { continue }
            answer(connection, peer: peer)
            close(connection)
        }
    }

    /// Reads one message from an association and answers it.
    private func answer(_ connection: Int32, peer: sockaddr_storage) {
        guard waitReadable(connection, timeout: Self.readTimeoutMilliseconds) else { return }
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return }
        let message = String(decoding: buffer[0..<n], as: UTF8.self)
        guard let reply = EchoCommand.reply(to: message, podName: podName, client: Self.address(peer)) else { return }
        _ = Array(reply.utf8).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Waits until `fd` is readable; false when the server is stopping or the wait timed out.
    private func waitReadable(_ fd: Int32, timeout: Int32) -> Bool {
        var entries = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let rc = poll(&entries, 2, timeout)
            if rc < 0 && errno == EINTR { continue }
            return rc > 0 && entries[1].revents == 0 && entries[0].revents != 0
        }
    }

    private static func address(_ storage: sockaddr_storage) -> SocketAddress? {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw in
            switch Int32(storage.ss_family) {
            case AF_INET6: SocketAddress(raw.load(as: sockaddr_in6.self), host: "")
            case AF_INET: SocketAddress(raw.load(as: sockaddr_in.self), host: "")
            default: nil
            }
        }
    }
}
