import Glibc
import Netlink
import WeftNet

/// One real TCP exchange between two namespaces, without threads: the listener is opened in the server's
/// namespace, the client connects from its own (the kernel completes the handshake into the listen queue) and
/// sends a line, then the connection is accepted and answered. Sockets stay bound to the namespace they were
/// opened in; every call has a 3 s timeout.
enum TCPCheck {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Sends `ping` from `source` (in `client`) to `destination:port` (in `server`) and returns the answer,
    /// `pong ping`.
    static func exchange(
        client: NetNS, source: IPAddress, server: NetNS, destination: IPAddress, port: UInt16
    ) throws -> String {
        let listener = try server.run { try openSocket(bind: destination, port: port, connect: nil) }
        defer { close(listener) }
        let connection = try client.run { try openSocket(bind: source, port: 0, connect: (destination, port)) }
        defer { close(connection) }
        try write(connection, "ping")
        let accepted = accept(listener, nil, nil)
        guard accepted >= 0 else { throw Failure(description: "accept on \(destination):\(port): errno \(errno)") }
        defer { close(accepted) }
        let request = try read(accepted)
        try write(accepted, "pong " + request)
        return try read(connection)
    }

    /// A socket bound to `bind:port`, then listening (no `connect`) or connected.
    private static func openSocket(
        bind address: IPAddress, port: UInt16, connect target: (IPAddress, UInt16)?
    ) throws -> Int32 {
        let fd = socket(
            address.family == .v4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withSocketAddress(address, port) { Glibc.bind(fd, $0, $1) }
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw Failure(description: "bind \(address):\(port): errno \(e)")
        }
        let rc: Int32
        if let (host, port) = target {
            rc = withSocketAddress(host, port) { Glibc.connect(fd, $0, $1) }
        } else {
            rc = listen(fd, 8)
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw Failure(description: "\(target == nil ? "listen" : "connect to \(target!.0)"): errno \(e)")
        }
        return fd
    }

    private static func withSocketAddress<R>(
        _ address: IPAddress, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) -> R {
        switch address {
        case .v4(let a):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: a.bytes) }
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let a):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: a.bytes) }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    private static func write(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n == bytes.count else { throw Failure(description: "send: errno \(errno)") }
    }

    private static func read(_ fd: Int32) throws -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: "recv: \(n == 0 ? "closed" : "errno \(errno)")") }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}
