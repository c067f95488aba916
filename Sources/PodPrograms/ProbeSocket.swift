import Glibc

/// Why one attempt of a probe failed, before it becomes a `ProbeResult`.
enum ProbeFailure: Error {
    /// Refused or rejected by the peer or on the way (exit 1).
    case refused(String)
    /// No answer before the deadline (exit 2).
    case timedOut(String)
    /// Anything else (exit 3).
    case other(String)

    var result: ProbeResult {
        switch self {
        case .refused(let m): .refused(m)
        case .timedOut(let m): .timedOut(m)
        case .other(let m): .failed(m)
        }
    }

    /// Classifies a socket error. Refused or rejected: ECONNREFUSED (a TCP RST, an ICMP port unreachable on a
    /// connected UDP socket, an SCTP ABORT), ECONNRESET (a reset after connecting), EHOSTUNREACH (ICMP host
    /// unreachable or admin-prohibited, as a firewall's `reject` sends over IPv4), EACCES (ICMPv6 admin-prohibited)
    /// and EPERM (a local firewall rule refusing to send). ETIMEDOUT is the kernel giving up on its own.
    static func fromErrno(_ code: Int32, _ what: String) -> ProbeFailure {
        let text = "\(what): \(String(cString: strerror(code)))"
        switch code {
        case ECONNREFUSED, ECONNRESET, EHOSTUNREACH, EACCES, EPERM: return .refused("REFUSED: " + text)
        case ETIMEDOUT: return .timedOut("TIMEOUT: " + text)
        default: return .other("OTHER: " + text)
        }
    }
}

/// A non-blocking socket whose every operation ends at a shared deadline: the probe's `--timeout` bounds the whole
/// exchange, not each step.
final class ProbeSocket {
    private let fd: Int32
    private let deadline: ContinuousClock.Instant
    /// `ip:port` of the peer, for messages.
    let peer: String

    /// Opens a socket of `type`/`proto` in the address's family and connects it (for UDP: sets its peer).
    init(
        connectingTo address: ResolvedAddress, type: Int32, proto: Int32, deadline: ContinuousClock.Instant
    ) throws(ProbeFailure) {
        self.deadline = deadline
        peer = address.text
        fd = socket(address.family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard fd >= 0 else {
            let code = errno
            if proto == Int32(IPPROTO_SCTP), code == EPROTONOSUPPORT || code == ESOCKTNOSUPPORT {
                throw .other("OTHER: SCTP is not supported by this kernel (the sctp module is not loaded)")
            }
            throw .other("OTHER: socket: \(String(cString: strerror(code)))")
        }
        // Queue ICMP errors on the socket too: Linux takes an ICMPv6 error for a SYN as a soft error and aborts only
        // at the next retransmission (a second later); the queue shows the rejection at once.
        var one: Int32 = 1
        if address.family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_RECVERR, &one, socklen_t(MemoryLayout<Int32>.size))
        } else {
            setsockopt(fd, Int32(IPPROTO_IP), IP_RECVERR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var copy = address.storage
        let rc = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
        }
        if rc != 0 {
            // Throwing from here on runs deinit, which closes the socket.
            let code = errno
            guard code == EINPROGRESS else { throw .fromErrno(code, "connect to \(peer)") }
            try wait(for: Int16(POLLOUT), doing: "connect to \(peer)")
            try checkPendingError("connect to \(peer)")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends all of `bytes`.
    func send(_ bytes: [UInt8]) throws(ProbeFailure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n >= 0 {
                offset += n
            } else if errno == EAGAIN || errno == EINTR {
                try wait(for: Int16(POLLOUT), doing: "send to \(peer)")
            } else {
                throw .fromErrno(errno, "send to \(peer)")
            }
        }
    }

    /// Receives what is there once something is: one datagram or message, or a chunk of a stream; empty at the end
    /// of a stream.
    func receive(maximum: Int = 65_536) throws(ProbeFailure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buffer[0..<n]) }
            guard errno == EAGAIN || errno == EINTR else { throw .fromErrno(errno, "receive from \(peer)") }
            try wait(for: Int16(POLLIN), doing: "receive from \(peer)")
        }
    }

    /// Waits until the socket is ready for `events`, or throws the error it reports (pending or queued), or throws
    /// `.timedOut` at the deadline.
    private func wait(for events: Int16, doing what: String) throws(ProbeFailure) {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw .timedOut("TIMEOUT: \(what): no answer in time") }
            let (seconds, attoseconds) = left.components
            let milliseconds = min(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000, 60_000)
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&entry, 1, Int32(milliseconds))
            if rc < 0 && errno != EINTR { throw .fromErrno(errno, what) }
            guard rc > 0 else { continue }
            if entry.revents & Int16(POLLERR) != 0 {
                try checkPendingError(what)
                // EMSGSIZE is path MTU discovery at work, not a refusal.
                if let code = queuedError(), code != EMSGSIZE { throw .fromErrno(code, what) }
            }
            if entry.revents & (events | Int16(POLLHUP)) != 0 { return }
        }
    }

    /// Takes the oldest ICMP error off the socket's error queue (`IP_RECVERR`/`IPV6_RECVERR`) and returns its errno.
    private func queuedError() -> Int32? {
        var control = [UInt8](repeating: 0, count: 512)
        var payload = [UInt8](repeating: 0, count: 512)
        return control.withUnsafeMutableBytes { control in
            payload.withUnsafeMutableBytes { payload in
                var vector = iovec(iov_base: payload.baseAddress, iov_len: payload.count)
                return withUnsafeMutablePointer(to: &vector) { vector in
                    var message = msghdr()
                    message.msg_iov = vector
                    message.msg_iovlen = 1
                    message.msg_control = control.baseAddress
                    message.msg_controllen = control.count
                    guard recvmsg(fd, &message, Int32(MSG_ERRQUEUE)) >= 0 else { return nil }
                    // Walk the control messages as CMSG_NXTHDR does; the data of IP_RECVERR/IPV6_RECVERR is a
                    // `struct sock_extended_err`, whose first field is the errno.
                    let headerSize = (MemoryLayout<cmsghdr>.size + 7) & ~7
                    var offset = 0
                    while offset + headerSize <= message.msg_controllen {
                        let header = control.load(fromByteOffset: offset, as: cmsghdr.self)
                        guard header.cmsg_len >= headerSize else { return nil }
                        let isIPv4Error = header.cmsg_level == IPPROTO_IP && header.cmsg_type == IP_RECVERR
                        let isIPv6Error = header.cmsg_level == IPPROTO_IPV6 && header.cmsg_type == IPV6_RECVERR
                        if isIPv4Error || isIPv6Error, offset + headerSize + 4 <= message.msg_controllen {
                            return Int32(bitPattern: control.load(fromByteOffset: offset + headerSize, as: UInt32.self))
                        }
                        offset += (Int(header.cmsg_len) + 7) & ~7
                    }
                    return nil
                }
            }
        }
    }

    /// Throws the socket's pending error (`SO_ERROR`), if any: how a non-blocking connect reports its outcome.
    private func checkPendingError(_ what: String) throws(ProbeFailure) {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { throw .fromErrno(errno, what) }
        if code != 0 { throw .fromErrno(code, what) }
    }
}
