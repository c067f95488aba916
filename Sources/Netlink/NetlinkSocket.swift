import CWeftLinux
import Glibc
import Synchronization

/// One open netlink socket of any protocol (`NETLINK_ROUTE` for `RouteSocket`, `NETLINK_NETFILTER` for nftables).
///
/// The socket is bound to the network namespace it was created in: pass `netns:` (the socket is then created on a
/// dedicated thread inside that namespace) or create it inside ``NetNS/run(_:)``. It can then be used from any
/// thread; requests are serialised by a lock. Every change is sent with `NLM_F_ACK` and waits for the kernel's
/// answer, so a method that returns has been applied.
package final class NetlinkSocket: @unchecked Sendable {
    struct State {
        var fd: Int32
        /// The port id the kernel assigned at bind; answers carry it in `nlmsg_pid`.
        var portID: UInt32
        var sequence: UInt32
        var buffer: [UInt8]
    }

    private let state: Mutex<State>

    /// Receive buffer size; a datagram that is larger (seen with `MSG_PEEK | MSG_TRUNC`) grows the buffer.
    static let initialBufferSize = 64 * 1024
    static let solNetlink: Int32 = 270

    /// The netlink protocol, e.g. `NETLINK_ROUTE`.
    package let netlinkProtocol: Int32

    /// Opens a socket of `netlinkProtocol` in `netns`, or in the calling thread's namespace when `netns` is nil.
    package init(netlinkProtocol: Int32, netns: NetNS? = nil) throws {
        self.netlinkProtocol = netlinkProtocol
        let (fd, portID): (Int32, UInt32)
        if let netns {
            (fd, portID) = try netns.run { try NetlinkSocket.openSocket(netlinkProtocol) }
        } else {
            (fd, portID) = try NetlinkSocket.openSocket(netlinkProtocol)
        }
        state = Mutex(
            State(
                fd: fd, portID: portID, sequence: UInt32(truncatingIfNeeded: time(nil)),
                buffer: [UInt8](repeating: 0, count: Self.initialBufferSize)))
    }

    deinit { close() }

    private static func openSocket(_ netlinkProtocol: Int32) throws -> (Int32, UInt32) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkProtocol)
        guard fd >= 0 else { throw NetlinkError.fromErrno("socket(AF_NETLINK, \(netlinkProtocol))") }
        func setInt(_ level: Int32, _ name: Int32, _ value: Int32) -> Int32 {
            var v = value
            return setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
        }
        _ = setInt(SOL_SOCKET, SO_SNDBUF, 32 * 1024)
        _ = setInt(SOL_SOCKET, SO_RCVBUF, 1024 * 1024)
        // Extended acks carry the kernel's error text; capped acks do not echo our request back. Both optional.
        _ = setInt(solNetlink, NETLINK_EXT_ACK, 1)
        _ = setInt(solNetlink, NETLINK_CAP_ACK, 1)
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            let error = NetlinkError.fromErrno("bind netlink socket")
            _ = Glibc.close(fd)
            throw error
        }
        return (fd, address.nl_pid)
    }

    /// Closes the socket. Later requests fail with `EBADF`. Safe to call more than once.
    package func close() {
        state.withLock { s in
            if s.fd >= 0 {
                _ = Glibc.close(s.fd)
                s.fd = -1
            }
        }
    }

    // MARK: - Transactions

    /// Sends a request with `NLM_F_ACK` and returns the data messages the kernel sent before its ack.
    @discardableResult
    package func request(_ message: MessageBuilder, _ operation: () -> String) throws -> [NetlinkMessage] {
        try state.withLock { s in
            try Self.transact(&s, message, dump: false, operation)
        }
    }

    /// Sends a dump request and returns every message up to `NLMSG_DONE`; an interrupted dump is retried.
    package func dump(_ message: MessageBuilder, _ operation: () -> String) throws -> [NetlinkMessage] {
        try state.withLock { s in
            var attempt = 0
            while true {
                attempt += 1
                do {
                    return try Self.transact(&s, message, dump: true, operation)
                } catch is DumpInterrupted {
                    if attempt >= 10 {
                        throw NetlinkError(operation: operation() + " (dump kept changing)", errno: EINTR)
                    }
                }
            }
        }
    }

    /// Sends `messages` as one datagram (an nfnetlink batch: the caller's first and last messages are the batch's
    /// begin and end) and waits for an answer to every message flagged `NLM_F_ACK`. The kernel answers a batch
    /// only after it committed or aborted the whole of it. Throws the first error, its operation named by
    /// `operation(index)` of the failing message.
    package func batch(_ messages: [MessageBuilder], _ operation: (Int) -> String) throws {
        try state.withLock { s in
            guard s.fd >= 0 else { throw NetlinkError(operation: operation(0) + " (socket closed)", errno: EBADF) }
            let first = s.sequence &+ 1
            var bytes: [UInt8] = []
            bytes.reserveCapacity(messages.reduce(0) { $0 + $1.bytes.count })
            var awaited = Set<UInt32>()
            for (index, message) in messages.enumerated() {
                let sequence = first &+ UInt32(index)
                bytes += message.finished(sequence: sequence)
                if message.bytes[6] & UInt8(NLM_F_ACK) != 0 { awaited.insert(sequence) }
            }
            s.sequence = first &+ UInt32(messages.count)
            // A netlink datagram must fit the send buffer; root may raise it past the sysctl limit (as nft does).
            var size = Int32(clamping: bytes.count + 64 * 1024)
            _ = setsockopt(s.fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            var receive = Int32(clamping: max(1024 * 1024, awaited.count * 256))
            _ = setsockopt(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive, socklen_t(MemoryLayout<Int32>.size))
            // Committing a large batch takes the kernel a while; never wait forever for its answer.
            var timeout = timeval(tv_sec: 120, tv_usec: 0)
            _ = setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            try Self.send(s.fd, bytes, { operation(0) })
            var failure: NetlinkError?
            while !awaited.isEmpty {
                for m in try Self.receive(&s, { operation(0) }) {
                    let index = Int(m.sequence &- first)
                    guard m.portID == s.portID, Int32(m.type) == NLMSG_ERROR, messages.indices.contains(index)
                    else { continue }
                    let code = m.payload.count >= 4 ? m.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : 0
                    let wasAwaited = awaited.remove(m.sequence) != nil
                    if code != 0, failure == nil {
                        failure = NetlinkError(
                            operation: operation(index), errno: -code, kernelMessage: Self.extendedAckMessage(m))
                    }
                    // An error for a message that asked no ack (the batch's begin, or the whole datagram refused):
                    // the kernel stopped there and answers nothing else.
                    if !wasAwaited, let failure { throw failure }
                }
            }
            if let failure { throw failure }
        }
    }

    private struct DumpInterrupted: Error {}

    private static func transact(
        _ s: inout State, _ message: MessageBuilder, dump: Bool, _ operation: () -> String
    ) throws -> [NetlinkMessage] {
        guard s.fd >= 0 else { throw NetlinkError(operation: operation() + " (socket closed)", errno: EBADF) }
        s.sequence &+= 1
        let sequence = s.sequence
        var bytes = message.finished(sequence: sequence)
        // Flags live at offset 6; the builder leaves them to us.
        let flags: UInt16 =
            UInt16(NLM_F_REQUEST) | (dump ? UInt16(NLM_F_DUMP) : UInt16(NLM_F_ACK))
            | (UInt16(bytes[6]) | UInt16(bytes[7]) << 8)
        bytes[6] = UInt8(flags & 0xff)
        bytes[7] = UInt8(flags >> 8)
        try send(s.fd, bytes, operation)

        var collected: [NetlinkMessage] = []
        var interrupted = false
        while true {
            let datagram = try receive(&s, operation)
            for m in datagram {
                // Answers carry our sequence number and our port id in nlmsg_pid; anything else is a stale answer
                // to an older request (one abandoned by an error, say).
                guard m.sequence == sequence, m.portID == s.portID else { continue }
                if m.flags & UInt16(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                switch Int32(m.type) {
                case NLMSG_ERROR:
                    let code = m.payload.count >= 4 ? m.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : 0
                    if code == 0 { return collected }
                    throw NetlinkError(
                        operation: operation(), errno: -code, kernelMessage: extendedAckMessage(m))
                case NLMSG_DONE:
                    if m.payload.count >= 4 {
                        let code = m.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
                        if code < 0 { throw NetlinkError(operation: operation(), errno: -code) }
                    }
                    if interrupted { throw DumpInterrupted() }
                    return collected
                case NLMSG_NOOP:
                    continue
                default:
                    // Dump parts, or the single answer to a GET (its ack follows).
                    collected.append(m)
                }
            }
        }
    }

    /// The `NLMSGERR_ATTR_MSG` text of an error message sent with extended acks.
    private static func extendedAckMessage(_ m: NetlinkMessage) -> String? {
        guard m.flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return nil }
        let errorHeader = MemoryLayout<nlmsgerr>.size  // int error + the request's nlmsghdr
        var offset = errorHeader
        if m.flags & UInt16(NLM_F_CAPPED) == 0, m.payload.count >= errorHeader {
            // The whole request was echoed: skip its payload too.
            let echoed = m.payload.dropFirst(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            offset = 4 + (Int(echoed) + 3) & ~3
        }
        guard offset <= m.payload.count else { return nil }
        return Attributes(m.payload.dropFirst(offset)).string(Int(NLMSGERR_ATTR_MSG.rawValue))
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8], _ operation: () -> String) throws {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &kernel) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    retryOnEINTR {
                        sendto(
                            fd, buffer.baseAddress, buffer.count, 0, address, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        }
        guard sent >= 0 else { throw NetlinkError(operation: operation() + " (send)", errno: errno) }
        guard sent == bytes.count else { throw NetlinkError(operation: operation() + " (short send)", errno: EIO) }
    }

    /// Receives one datagram, growing the buffer first if it would not fit.
    private static func receive(_ s: inout State, _ operation: () -> String) throws -> [NetlinkMessage] {
        let fd = s.fd
        while true {
            let size = s.buffer.withUnsafeMutableBytes { buffer in
                retryOnEINTR { recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_PEEK) | Int32(MSG_TRUNC)) }
            }
            guard size >= 0 else { throw NetlinkError(operation: operation() + " (receive)", errno: errno) }
            if size > s.buffer.count {
                s.buffer = [UInt8](repeating: 0, count: (size + 4095) & ~4095)
            }
            let got = s.buffer.withUnsafeMutableBytes { buffer in
                retryOnEINTR { recv(fd, buffer.baseAddress, buffer.count, 0) }
            }
            guard got >= 0 else { throw NetlinkError(operation: operation() + " (receive)", errno: errno) }
            return s.buffer.withUnsafeBytes { NetlinkMessage.parse(UnsafeRawBufferPointer(rebasing: $0[..<got])) }
        }
    }
}
