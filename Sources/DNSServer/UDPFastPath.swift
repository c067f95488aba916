import CWeftLinux
import DNS
import Glibc
import NIOCore
import Synchronization

/// Answers one UDP datagram, for one thread: from the `UDPAnswerCache` when the same question (byte for byte,
/// same EDNS variant) was answered from the zone at the zone's current generation, else through the full path
/// (`DNSResponder.handle`), whose reply is kept when it is the zone's. A cached reply is the full path's bytes with
/// the query's id, RD and CD copied in: the same bytes the full path would send.
final class UDPFastAnswerer {
    let responder: DNSResponder
    let cache: UDPAnswerCache

    init(responder: DNSResponder, cache: UDPAnswerCache = UDPAnswerCache()) {
        self.responder = responder
        self.cache = cache
    }

    enum Answer {
        /// `length` bytes were written to the output: a cached reply to a query of `type` with `rcode`.
        case cached(length: Int, type: UInt16, rcode: UInt16)
        /// The full path's outcome (already counted in the metrics).
        case full(DNSResponder.Outcome)
    }

    /// Answers `packet`, writing a cached reply to `output` (which must hold at least 512 bytes and the server's
    /// UDP payload size).
    func answer(_ packet: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) -> Answer {
        let generation = responder.zones.generation
        cache.validate(generation: generation)
        let query = CacheableQuery(packet, serverPayloadSize: responder.udpPayloadSize)
        if let query, let hit = cache.lookup(query, in: packet), hit.response.count <= output.count {
            output.copyMemory(from: hit.response)
            // The id; RD and CD copied from the query (RFC 1035 §4.1.1, RFC 4035 §3.1.6); the rest is the answer's.
            output[0] = packet[0]
            output[1] = packet[1]
            output[2] = output[2] & ~0x01 | packet[2] & 0x01
            output[3] = output[3] & ~0x10 | packet[3] & 0x10
            return .cached(length: hit.response.count, type: query.type, rcode: hit.rcode)
        }
        var cacheable: ResponseCode?
        let outcome = responder.handle(Array(packet), transport: .udp, cacheable: &cacheable)
        if let rcode = cacheable, let query, case .reply(let bytes) = outcome, bytes.count >= 12 {
            bytes.withUnsafeBytes { response in
                cache.insert(query, in: packet, response: response, rcode: rcode.rawValue)
            }
        }
        return .full(outcome)
    }

    /// `answer` on arrays, for tests: the bytes sent, nil when nothing is (dropped, or forwarded).
    func answer(_ query: [UInt8]) -> (bytes: [UInt8], cached: Bool)? {
        var output = [UInt8](repeating: 0, count: max(512, responder.udpPayloadSize))
        let result = query.withUnsafeBytes { packet in
            output.withUnsafeMutableBytes { answer(packet, output: $0) }
        }
        switch result {
        case .cached(let length, _, _): return (Array(output[..<length]), true)
        case .full(.reply(let bytes)): return (bytes, false)
        case .full: return nil
        }
    }
}

/// A bound UDP socket. The fast-path thread receives and sends on it; forwarded answers are sent from tasks
/// (`sendto` on a UDP socket is safe from any thread), under a lock only so that they never use a closed descriptor.
final class UDPSocket: Sendable {
    let descriptor: Int32
    let port: Int
    private let closed = Mutex(false)

    /// Binds `host` (resolved as NIO resolves it) and `port`, with SO_REUSEADDR as the NIO listeners had.
    init(host: String, port: Int) throws {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family = Int32(address.protocol.rawValue)
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        do {
            var one: Int32 = 1
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw IOError(errnoCode: errno, reason: "setsockopt(SO_REUSEADDR)")
            }
            // A blocked receive returns at least once a second, so the thread sees that it should stop even if the
            // shutdown that wakes it is missed.
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0
            else { throw IOError(errnoCode: errno, reason: "setsockopt(SO_RCVTIMEO)") }
            let bound = address.withSockAddr { pointer, length in bind(fd, pointer, socklen_t(length)) }
            guard bound == 0 else { throw IOError(errnoCode: errno, reason: "bind(\(host):\(port))") }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw IOError(errnoCode: errno, reason: "getsockname") }
            self.port = withUnsafeBytes(of: storage) { raw in
                // sin_port and sin6_port: the same offset, network byte order.
                Int(raw[2]) << 8 | Int(raw[3])
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        descriptor = fd
    }

    /// Sends `message` to `address` (a sockaddr's bytes) unless the socket was closed.
    func send(_ message: [UInt8], to address: [UInt8]) {
        closed.withLock { closed in
            guard !closed else { return }
            message.withUnsafeBytes { bytes in
                address.withUnsafeBytes { name in
                    _ = sendto(
                        descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL),
                        name.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(name.count))
                }
            }
        }
    }

    /// Wakes a thread blocked in a receive on this socket (it then reads 0 messages). Nothing once closed: the
    /// descriptor's number may be another socket's by then.
    func shutdownReads() {
        closed.withLock { closed in
            guard !closed else { return }
            _ = shutdown(descriptor, Int32(SHUT_RDWR))
        }
    }

    func close() {
        closed.withLock { closed in
            guard !closed else { return }
            closed = true
            _ = Glibc.close(descriptor)
        }
    }
}

/// `weft dns`'s UDP listener on one address: a thread of its own (not NIO's) that receives up to `batchSize`
/// datagrams with one blocking `recvmmsg`, answers each (`UDPFastAnswerer`: from its cache, else the full path)
/// and sends the answers with one `sendmmsg`. Forwarded queries are finished in tasks that send their answer on the
/// same socket. The cached answers' metrics are counted once per batch.
public final class UDPFastPath: Sendable {
    let socket: UDPSocket
    private let responder: DNSResponder
    private let batchSize: Int
    private let stopping = StopFlag()
    private let thread = Mutex<pthread_t?>(nil)

    public var port: Int { socket.port }

    /// Binds the socket; `start` serves it.
    public init(responder: DNSResponder, host: String, port: Int, batchSize: Int = 64) throws {
        socket = try UDPSocket(host: host, port: port)
        self.responder = responder
        self.batchSize = max(1, batchSize)
    }

    public func start() throws {
        let loop = Unmanaged.passRetained(
            UDPFastPathLoop(socket: socket, responder: responder, batchSize: batchSize, stopping: stopping))
        var id = pthread_t()
        let result = pthread_create(
            &id, nil,
            { argument in
                let loop = Unmanaged<UDPFastPathLoop>.fromOpaque(argument!).takeRetainedValue()
                _ = weft_set_thread_name("weft-dns-udp")
                loop.run()
                return nil
            }, loop.toOpaque())
        guard result == 0 else {
            loop.release()
            throw IOError(errnoCode: result, reason: "pthread_create")
        }
        thread.withLock { $0 = id }
    }

    deinit { close() }

    /// Stops the thread, waits for it, closes the socket.
    public func close() {
        stopping.stop()
        socket.shutdownReads()
        if let id = thread.withLock({ id in
            defer { id = nil }; return id
        }) {
            pthread_join(id, nil)
        }
        socket.close()
    }
}

/// Set once, when the fast-path thread should stop.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isStopped: Bool { value.load(ordering: .relaxed) }
    func stop() { value.store(true, ordering: .relaxed) }
}

/// The state of one fast-path thread: its buffers, message headers and answer cache.
final class UDPFastPathLoop {
    /// Bytes of one received datagram, as NIO's receive buffers had (a query with EDNS options fits).
    static let receiveSize = 4096
    /// MSG_WAITFORONE (a GNU flag the Glibc module does not export): block for the first datagram only.
    static let waitForOne: Int32 = 0x10000

    let socket: UDPSocket
    let answerer: UDPFastAnswerer
    let metrics: DNSMetrics
    let batch: Int
    let sendSize: Int
    let stopping: StopFlag

    let receiveBuffers: UnsafeMutableRawPointer
    let sendBuffers: UnsafeMutableRawPointer
    let addresses: UnsafeMutablePointer<sockaddr_storage>
    let receiveVectors: UnsafeMutablePointer<iovec>
    let sendVectors: UnsafeMutablePointer<iovec>
    let receiveHeaders: UnsafeMutablePointer<weft_mmsghdr>
    let sendHeaders: UnsafeMutablePointer<weft_mmsghdr>
    var tally = ResponseTally()

    init(socket: UDPSocket, responder: DNSResponder, batchSize: Int, stopping: StopFlag) {
        self.socket = socket
        answerer = UDPFastAnswerer(responder: responder)
        metrics = responder.metrics
        batch = batchSize
        sendSize = min(65535, max(512, responder.udpPayloadSize))
        self.stopping = stopping
        receiveBuffers = .allocate(byteCount: batch * Self.receiveSize, alignment: 16)
        sendBuffers = .allocate(byteCount: batch * sendSize, alignment: 16)
        addresses = .allocate(capacity: batch)
        addresses.initialize(repeating: sockaddr_storage(), count: batch)
        receiveVectors = .allocate(capacity: batch)
        sendVectors = .allocate(capacity: batch)
        receiveHeaders = .allocate(capacity: batch)
        sendHeaders = .allocate(capacity: batch)
        for index in 0..<batch {
            receiveVectors[index] = iovec(
                iov_base: receiveBuffers + index * Self.receiveSize, iov_len: Self.receiveSize)
            sendVectors[index] = iovec(iov_base: sendBuffers + index * sendSize, iov_len: 0)
            receiveHeaders[index] = weft_mmsghdr(
                msg_hdr: msghdr(
                    msg_name: UnsafeMutableRawPointer(addresses + index),
                    msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size), msg_iov: receiveVectors + index,
                    msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0), msg_len: 0)
            sendHeaders[index] = weft_mmsghdr(
                msg_hdr: msghdr(
                    msg_name: nil, msg_namelen: 0, msg_iov: sendVectors + index, msg_iovlen: 1, msg_control: nil,
                    msg_controllen: 0, msg_flags: 0), msg_len: 0)
        }
    }

    deinit {
        receiveBuffers.deallocate()
        sendBuffers.deallocate()
        addresses.deallocate()
        receiveVectors.deallocate()
        sendVectors.deallocate()
        receiveHeaders.deallocate()
        sendHeaders.deallocate()
    }

    func run() {
        let fd = socket.descriptor
        while !stopping.isStopped {
            for index in 0..<batch {
                receiveHeaders[index].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                receiveHeaders[index].msg_hdr.msg_flags = 0
            }
            let received = weft_recvmmsg(fd, receiveHeaders, UInt32(batch), Self.waitForOne, nil)
            guard received > 0 else { continue }  // timeout, EINTR, a shutdown (0), an error of one datagram
            let arrived = ContinuousClock.now
            var replies = 0
            for index in 0..<Int(received) {
                let packet = UnsafeRawBufferPointer(
                    start: receiveBuffers + index * Self.receiveSize, count: Int(receiveHeaders[index].msg_len))
                let output = UnsafeMutableRawBufferPointer(start: sendBuffers + replies * sendSize, count: sendSize)
                var length = 0
                switch answerer.answer(packet, output: output) {
                case .cached(let count, let type, let rcode):
                    tally.add(type: type, rcode: rcode)
                    length = count
                case .full(.reply(let bytes)):
                    if bytes.count <= sendSize {
                        output.copyBytes(from: bytes)
                        length = bytes.count
                    } else {
                        socket.send(bytes, to: address(index))
                    }
                case .full(.forward(let pending)):
                    let responder = answerer.responder
                    let socket = socket
                    let address = address(index)
                    Task {
                        let answer = await responder.finish(pending)
                        guard !answer.isEmpty else { return }
                        socket.send(answer, to: address)
                    }
                case .full(.drop):
                    break
                }
                guard length > 0 else { continue }
                sendVectors[replies].iov_len = length
                sendHeaders[replies].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + index)
                sendHeaders[replies].msg_hdr.msg_namelen = receiveHeaders[index].msg_hdr.msg_namelen
                replies += 1
            }
            var sent = 0
            while sent < replies {
                let result = weft_sendmmsg(fd, sendHeaders + sent, UInt32(replies - sent), Int32(MSG_NOSIGNAL))
                if result > 0 {
                    sent += Int(result)
                } else if result < 0 && errno == EINTR {
                    continue
                } else {
                    sent += 1  // This datagram could not be sent (its error is the client's): the next ones.
                }
            }
            if tally.total > 0 {
                metrics.recordCached(tally, duration: ContinuousClock.now - arrived)
                tally.reset()
            }
        }
    }

    /// The sender of datagram `index`, as bytes.
    func address(_ index: Int) -> [UInt8] {
        let length = Int(receiveHeaders[index].msg_hdr.msg_namelen)
        return Array(UnsafeRawBufferPointer(start: addresses + index, count: length))
    }
}
