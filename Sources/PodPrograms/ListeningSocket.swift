import Glibc

/// The sockets `weft serve` listens on: every address of the pod, IPv4 and IPv6 on one socket.
enum ListeningSocket {
    /// Opens a socket of `type`/`proto` bound to `port` (0: the kernel picks one) on `[::]` with `IPV6_V6ONLY` off,
    /// so IPv4 clients arrive as `::ffff:a.b.c.d`; where IPv6 is unavailable, on `0.0.0.0`. Stream sockets listen.
    /// Returns the descriptor and the port it is bound to.
    static func open(type: Int32, proto: Int32, port: Int, what: String) throws(ServeError) -> (
        descriptor: Int32, port: Int
    ) {
        let flags = Int32(SOCK_CLOEXEC.rawValue)
        var fd = socket(AF_INET6, type | flags, proto)
        var family = AF_INET6
        if fd < 0 && errno == EAFNOSUPPORT {
            fd = socket(AF_INET, type | flags, proto)
            family = AF_INET
        }
        guard fd >= 0 else {
            let code = errno
            if proto == Int32(IPPROTO_SCTP), code == EPROTONOSUPPORT || code == ESOCKTNOSUPPORT {
                throw ServeError(
                    "SCTP is not supported by this kernel: the sctp module is not loaded and could not be loaded"
                        + " (\(String(cString: strerror(code))))")
            }
            throw failure(code, "cannot open the \(what) socket")
        }
        var one: Int32 = 1
        var zero: Int32 = 0
        let size = socklen_t(MemoryLayout<Int32>.size)
        if type == Int32(SOCK_STREAM.rawValue) { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, size) }
        var rc: Int32
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, size)
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        if rc == 0 && type == Int32(SOCK_STREAM.rawValue) { rc = listen(fd, 1024) }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw failure(code, "cannot listen for \(what) on port \(port)")
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset, right after the family.
        let boundPort = withUnsafeBytes(of: &bound) {
            UInt16(bigEndian: $0.load(fromByteOffset: MemoryLayout<sa_family_t>.size, as: UInt16.self))
        }
        return (fd, Int(boundPort))
    }

    private static func failure(_ code: Int32, _ what: String) -> ServeError {
        ServeError("\(what): \(String(cString: strerror(code)))")
    }
}
