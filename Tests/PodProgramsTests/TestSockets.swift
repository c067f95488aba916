import Glibc
import PodPrograms

/// Plain blocking sockets for the tests, independent of the code under test. Every socket has 5 s send and receive
/// timeouts, so that a broken server fails a test instead of hanging it. Everything here stays on loopback.
enum TestSockets {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ what: String, _ code: Int32 = errno) { description = "\(what): \(String(cString: strerror(code)))" }
    }

    /// A socket address for an IP literal (`127.0.0.1`, `::1`) and port.
    static func address(_ ip: String, _ port: Int) -> (storage: sockaddr_storage, length: socklen_t) {
        var storage = sockaddr_storage()
        if ip.contains(":") {
            withUnsafeMutableBytes(of: &storage) { raw in
                var a = sockaddr_in6()
                a.sin6_family = sa_family_t(AF_INET6)
                a.sin6_port = UInt16(port).bigEndian
                inet_pton(AF_INET6, ip, &a.sin6_addr)
                raw.storeBytes(of: a, as: sockaddr_in6.self)
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
        withUnsafeMutableBytes(of: &storage) { raw in
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, ip, &a.sin_addr)
            raw.storeBytes(of: a, as: sockaddr_in.self)
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    /// `ip:port` (or `[ip]:port`) of a socket address.
    static func text(_ storage: sockaddr_storage) -> String {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw in
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if Int32(storage.ss_family) == AF_INET6 {
                var a = raw.load(as: sockaddr_in6.self)
                inet_ntop(AF_INET6, &a.sin6_addr, &buffer, socklen_t(buffer.count))
                return
                    "[\(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })]:\(UInt16(bigEndian: a.sin6_port))"
            }
            var a = raw.load(as: sockaddr_in.self)
            inet_ntop(AF_INET, &a.sin_addr, &buffer, socklen_t(buffer.count))
            return
                "\(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }):\(UInt16(bigEndian: a.sin_port))"
        }
    }

    /// A socket of the family of `ip`, with timeouts.
    static func open(_ ip: String, type: Int32) throws -> Int32 {
        let fd = socket(ip.contains(":") ? AF_INET6 : AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func connect(_ fd: Int32, _ ip: String, _ port: Int) throws {
        var (storage, length) = address(ip, port)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        guard rc == 0 else { throw Failure("connect to \(ip) port \(port)") }
    }

    static func bind(_ fd: Int32, _ ip: String, _ port: Int = 0) throws {
        var (storage, length) = address(ip, port)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard rc == 0 else { throw Failure("bind to \(ip) port \(port)") }
    }

    static func localAddress(_ fd: Int32) -> sockaddr_storage {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return storage
    }

    static func port(_ fd: Int32) -> Int {
        Int(text(localAddress(fd)).split(separator: ":").last.flatMap { Int($0) } ?? 0)
    }

    static func sendAll(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure("send") }
            offset += n
        }
    }

    /// Everything until the peer closes.
    static func readToEnd(_ fd: Int32) throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else { throw Failure("recv") }
            if n == 0 { return String(decoding: received, as: UTF8.self) }
            received += buffer[0..<n]
        }
    }

    /// What arrives until it ends with `suffix` (or the peer closes).
    static func read(_ fd: Int32, until suffix: String) throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).hasSuffix(suffix) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else { throw Failure("recv") }
            if n == 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// A port on `ip` where nothing listens: bound by a socket of `type`, then closed.
    static func closedPort(_ ip: String, type: Int32) throws -> Int {
        let fd = try open(ip, type: type)
        defer { close(fd) }
        try bind(fd, ip)
        return port(fd)
    }

    /// Whether this kernel can open SCTP sockets (it loads the module on demand when it can).
    static var sctpSupported: Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), Int32(IPPROTO_SCTP))
        if fd >= 0 { close(fd) }
        return fd >= 0
    }
}

/// An HTTP exchange as a plain client sees it.
struct HTTPReply {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: String
    /// The client's own address, `ip:port`.
    var clientAddress: String
    /// The whole response as received.
    var raw: String

    func header(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// Sends `request` (raw HTTP, or a GET of `path` with `Connection: close`) to `ip:port` and reads until the
    /// server closes.
    static func get(_ ip: String, _ port: Int, _ path: String, request: String? = nil) throws -> HTTPReply {
        let fd = try TestSockets.open(ip, type: Int32(SOCK_STREAM.rawValue))
        defer { close(fd) }
        try TestSockets.connect(fd, ip, port)
        let client = TestSockets.text(TestSockets.localAddress(fd))
        try TestSockets.sendAll(fd, request ?? "GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        let raw = try TestSockets.readToEnd(fd)
        guard let split = raw.range(of: "\r\n\r\n") else { throw TestSockets.Failure("no header end in \(raw)", 0) }
        let lines = raw[..<split.lowerBound].split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        let headers = lines.dropFirst().map { line in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " }))
        }
        return HTTPReply(
            status: status, headers: headers, body: String(raw[split.upperBound...]), clientAddress: client, raw: raw)
    }
}

/// Sends one datagram to `ip:port` and returns the answer, or nil if none came within `seconds`.
func udpExchange(_ ip: String, _ port: Int, _ message: String, seconds: Int = 2) throws -> String? {
    let fd = try TestSockets.open(ip, type: Int32(SOCK_DGRAM.rawValue))
    defer { close(fd) }
    var timeout = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    try TestSockets.connect(fd, ip, port)
    try TestSockets.sendAll(fd, message)
    var buffer = [UInt8](repeating: 0, count: 2048)
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
    guard n >= 0 else { throw TestSockets.Failure("recv") }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

/// Starts an `EchoServer` on ephemeral ports, runs `body`, and closes the server whatever happens.
func withEchoServer<T>(
    podName: String = "pod-a", udp: Bool = true, sctp: Bool = false, _ body: (EchoServer) async throws -> T
) async throws -> T {
    let server = try await EchoServer.start(
        EchoServer.Configuration(podName: podName, httpPort: 0, udpPort: udp ? 0 : nil, sctpPort: sctp ? 0 : nil))
    do {
        let result = try await body(server)
        await server.close()
        return result
    } catch {
        await server.close()
        throw error
    }
}
