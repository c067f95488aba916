import Glibc
import Netlink

/// Real TCP between namespaces: a listener opened inside one netns answers one line; a client opened inside
/// another connects, sends, and reads the answer. Sockets stay bound to the netns they were created in.
final class TCPListener: @unchecked Sendable {
    let fd: Int32
    private var thread: pthread_t?

    private let replyWithPeer: Bool

    /// Listens on `[::]:port` (dual-stack) inside `netns` and echoes "pong <request>" to each connection, followed
    /// by " from <client address>" when `replyWithPeer` is set.
    init(netns: String, port: UInt16, replyWithPeer: Bool = false) throws {
        self.replyWithPeer = replyWithPeer
        let ns = try NetNS.open(path: netns)
        defer { ns.close() }
        fd = try ns.run {
            let s = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { throw HarnessError("socket: \(errno)") }
            var one: Int32 = 1
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var zero: Int32 = 0
            setsockopt(s, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(s, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
            guard rc == 0, listen(s, 64) == 0 else {
                close(s)
                throw HarnessError("bind/listen on \(port): errno \(errno)")
            }
            return s
        }
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(
            &t, nil,
            { arg in
                let me = Unmanaged<TCPListener>.fromOpaque(arg!).takeRetainedValue()
                me.serve()
                return nil
            }, box.toOpaque())
        thread = t
    }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            var buf = [UInt8](repeating: 0, count: 256)
            let n = read(c, &buf, buf.count)
            var reply = Array("pong ".utf8) + (n > 0 ? Array(buf[0..<n]) : [])
            if replyWithPeer { reply += Array(" from \(peerAddress(c))".utf8) }
            _ = reply.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            close(c)
        }
    }

    /// The client's address as the listener sees it (IPv4-mapped addresses shown as IPv4).
    private func peerAddress(_ fd: Int32) -> String {
        var addr = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        }
        guard ok == 0 else { return "?" }
        var text = [CChar](repeating: 0, count: 64)
        var a = addr.sin6_addr
        inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
        let s = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.hasPrefix("::ffff:") ? String(s.dropFirst(7)) : s
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        if let thread { pthread_join(thread, nil) }
        close(fd)
    }
}

/// Connects from inside `netns` to `host:port`, sends `message`, returns the reply (or throws).
func tcpRequest(from netns: String, to host: String, port: UInt16, message: String, timeoutSeconds: Int = 3) throws
    -> String
{
    let ns = try NetNS.open(path: netns)
    defer { ns.close() }
    return try ns.run {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else {
            throw HarnessError("bad address \(host)")
        }
        defer { freeaddrinfo(res) }
        let s = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw HarnessError("socket: \(errno)") }
        defer { close(s) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(s, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            throw HarnessError("connect to \(host):\(port) from \(netns): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(message.utf8)
        _ = bytes.withUnsafeBytes { write(s, $0.baseAddress, $0.count) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 256)
        while true {
            let n = read(s, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
