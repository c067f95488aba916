import Glibc
import NIOPosix

/// `weft probe` (agnhost `connect`): one connection attempt to a target, with an outcome that scripts and tests can
/// branch on: connected (0), refused or rejected (1), timed out (2), anything else (3).
///
/// A name that resolves to several addresses is tried address by address, as Go's dialer does, while addresses
/// refuse; the timeout bounds the whole attempt, resolution excepted.
public struct Probe: Sendable {
    /// What to speak.
    public var transport: ProbeProtocol
    /// Where to.
    public var target: ProbeTarget
    /// How long everything may take, from the first connect to the last byte of the answer.
    public var timeout: Duration
    /// The path of the GET, for http.
    public var path: String

    /// What a UDP or SCTP probe sends; `weft serve` (and agnhost netexec) answer it with the pod's name.
    static let hostnameRequest = Array("hostname".utf8)

    public init(
        transport: ProbeProtocol, target: ProbeTarget, timeout: Duration = .seconds(1), path: String = "/hostname"
    ) {
        self.transport = transport
        self.target = target
        self.timeout = timeout
        self.path = path
    }

    /// A probe from the command line's texts: `--protocol`, `--timeout` (a Go duration), `--path`, and the operands
    /// (exactly one, `HOST:PORT`).
    public init(protocol: String, timeout: String, path: String, operands: [String]) throws(ProbeUsageError) {
        guard let transport = ProbeProtocol(rawValue: `protocol`) else {
            throw ProbeUsageError("unknown protocol \"\(`protocol`)\"; expected tcp, udp, sctp or http")
        }
        let duration: Duration
        do {
            duration = try GoDuration.parse(timeout)
        } catch {
            throw ProbeUsageError("--timeout: \(error)")
        }
        guard duration > .zero else { throw ProbeUsageError("--timeout must be positive, got \"\(timeout)\"") }
        guard path.hasPrefix("/"), path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw ProbeUsageError("--path must start with / and contain no spaces or control characters")
        }
        if let option = operands.first(where: { $0.hasPrefix("-") && $0.count > 1 }) {
            throw ProbeUsageError("unknown option \"\(option)\"")
        }
        guard operands.count == 1 else {
            throw ProbeUsageError(
                operands.isEmpty ? "missing HOST:PORT" : "expected one HOST:PORT, got \(operands.count) arguments")
        }
        self.init(transport: transport, target: try ProbeTarget(parsing: operands[0]), timeout: duration, path: path)
    }

    /// Runs the probe on NIO's blocking thread pool (it waits in `poll`), leaving Swift concurrency's threads free.
    public func run() async -> ProbeResult {
        do {
            return try await NIOThreadPool.singleton.runIfActive { self.runBlocking() }
        } catch {
            return .failed("UNKNOWN: \(error)")
        }
    }

    /// Runs the probe on the calling thread.
    public func runBlocking() -> ProbeResult {
        let deadline = ContinuousClock.now + timeout
        let addresses: [ResolvedAddress]
        do {
            addresses = try target.resolve(socketType: transport == .udp ? Int32(SOCK_DGRAM.rawValue) : socketStream)
        } catch {
            return error.result
        }
        var refusal = ProbeResult.failed("UNKNOWN: no address")
        for address in addresses {
            do {
                return try attempt(address, deadline: deadline)
            } catch .refused(let message) {
                refusal = .refused(message)
            } catch {
                return error.result
            }
        }
        return refusal
    }

    private var socketStream: Int32 { Int32(SOCK_STREAM.rawValue) }

    /// One address: connect, and for udp, sctp and http exchange a request and its answer. Throws `.refused` when
    /// the address does not serve (the next one is tried); an HTTP status that is not 2xx is a result, not a throw.
    private func attempt(_ address: ResolvedAddress, deadline: ContinuousClock.Instant) throws(ProbeFailure)
        -> ProbeResult
    {
        switch transport {
        case .tcp:
            _ = try ProbeSocket(
                connectingTo: address, type: socketStream, proto: Int32(IPPROTO_TCP), deadline: deadline)
            return .connected(output: nil)
        case .udp, .sctp:
            let socket =
                transport == .udp
                ? try ProbeSocket(
                    connectingTo: address, type: Int32(SOCK_DGRAM.rawValue), proto: Int32(IPPROTO_UDP),
                    deadline: deadline)
                : try ProbeSocket(
                    connectingTo: address, type: socketStream, proto: Int32(IPPROTO_SCTP), deadline: deadline)
            try socket.send(Self.hostnameRequest)
            let reply = try socket.receive()
            guard !reply.isEmpty else {
                return .failed("OTHER: \(socket.peer) sent an empty answer; cannot tell that it got the request")
            }
            return .connected(output: String(decoding: reply, as: UTF8.self))
        case .http:
            let socket = try ProbeSocket(
                connectingTo: address, type: socketStream, proto: Int32(IPPROTO_TCP), deadline: deadline)
            let request =
                "GET \(path) HTTP/1.1\r\nHost: \(target)\r\nUser-Agent: weft-probe\r\nAccept: */*\r\n"
                + "Connection: close\r\n\r\n"
            try socket.send(Array(request.utf8))
            var received: [UInt8] = []
            while true {
                let chunk = try socket.receive()
                received += chunk
                guard let response = try HTTPProbeResponse.parse(received, atEnd: chunk.isEmpty) else { continue }
                guard (200..<300).contains(response.status) else {
                    return .refused(
                        "REFUSED: GET \(path) from \(socket.peer): HTTP \(response.status) \(response.reason)")
                }
                return .connected(output: String(decoding: response.body, as: UTF8.self))
            }
        }
    }
}
