import DNS
import Logging
import PrometheusText
import Synchronization

/// Sends one query to one upstream and returns its answer (over UDP, retrying over TCP when the answer is
/// truncated); throws on a timeout or a transport error.
public protocol UpstreamTransport: Sendable {
    func exchange(_ query: DNSMessage, with upstream: Upstream, timeout: Duration) async throws -> DNSMessage
}

/// An upstream resolver: an address and port (from resolv.conf's `nameserver` lines or `--upstream`).
public struct Upstream: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 53) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Names outside the cluster zone: answered from the cache, else asked of the upstreams — one question in flight
/// per name and type however many clients ask it at once, healthy upstreams first in their configured order,
/// the next one after a failure — and SERVFAIL with a log line when every upstream fails. An upstream that
/// failed is skipped until a health check (`. NS`, as CoreDNS's `forward` sends) finds it answering again.
public actor Forwarder {
    public nonisolated let upstreams: [Upstream]
    private let transport: any UpstreamTransport
    private let timeout: Duration
    private let logger: Logger
    private nonisolated let now: @Sendable () -> Double
    /// Behind a lock, not the actor, so that a hit is answered on the server's event loop (`cached`).
    private let cache: Mutex<ResponseCache>
    private var inFlight: [ResponseCache.Key: Task<ResponseCache.Entry, Never>] = [:]
    private var down: Set<Upstream> = []
    private var nextID: UInt16 = .random(in: 0...UInt16.max)

    /// What a resolution cost, for metrics.
    public enum Source: Sendable, Equatable {
        case cache
        case upstream
        /// Another client's identical question was already on its way; this one waited for it.
        case coalesced
    }

    public init(
        upstreams: [Upstream], transport: any UpstreamTransport, cache: ResponseCache = ResponseCache(),
        timeout: Duration = .seconds(2), logger: Logger = Logger(label: "weft.dns.forward"),
        now: (@Sendable () -> Double)? = nil
    ) {
        self.upstreams = upstreams
        self.transport = transport
        self.cache = Mutex(cache)
        self.timeout = timeout
        self.logger = logger
        self.now = now ?? { ContinuousClock.now.secondsSinceStart }
    }

    /// The upstreams a health check found failing (skipped while others answer).
    public var unhealthy: Set<Upstream> { down }

    public nonisolated var cachedEntries: Int { cache.withLock { $0.count } }

    /// The cached answer to `question`, without waiting for the actor.
    public nonisolated func cached(_ question: Question) -> ResponseCache.Entry? {
        let now = now()
        return cache.withLock { $0.lookup(question, now: now) }
    }

    /// The answer to `question`, and where it came from.
    public func resolve(_ question: Question) async -> (entry: ResponseCache.Entry, source: Source) {
        if let hit = cached(question) { return (hit, .cache) }
        let key = ResponseCache.Key(question)
        if let running = inFlight[key] { return (await running.value, .coalesced) }
        let task = Task { await self.ask(question) }
        inFlight[key] = task
        let entry = await task.value
        inFlight[key] = nil
        return (entry, .upstream)
    }

    /// Asks the upstreams in order, healthy ones first; caches what may be cached.
    private func ask(_ question: Question) async -> ResponseCache.Entry {
        var failures: [String] = []
        let ordered = upstreams.filter { !down.contains($0) } + upstreams.filter { down.contains($0) }
        for upstream in ordered {
            nextID &+= 1
            let query = DNSMessage(id: nextID, recursionDesired: true, questions: [question], edns: EDNS())
            do {
                let response = try await transport.exchange(query, with: upstream, timeout: timeout)
                guard response.id == query.id, response.isResponse,
                    response.rcode != .servFail && response.rcode != .refused
                else {
                    failures.append("\(upstream): \(response.rcode)")
                    down.insert(upstream)
                    continue
                }
                down.remove(upstream)
                let now = now()
                cache.withLock { _ = $0.store(response, for: question, now: now) }
                return ResponseCache.Entry(
                    rcode: response.rcode, answers: response.answers, authority: response.authority,
                    additional: response.additional)
            } catch {
                failures.append("\(upstream): \(error)")
                down.insert(upstream)
            }
        }
        logger.error(
            "every upstream failed; answering SERVFAIL",
            metadata: ["question": "\(question.name) \(question.type)", "failures": "\(failures)"])
        return ResponseCache.Entry(rcode: .servFail, answers: [], authority: [], additional: [])
    }

    /// Asks each failing upstream for the root's NS records; one that answers is used again.
    public func checkHealth() async {
        for upstream in down {
            nextID &+= 1
            let probe = DNSMessage(
                id: nextID, recursionDesired: true, questions: [Question(name: .root, type: .ns)], edns: EDNS())
            if let response = try? await transport.exchange(probe, with: upstream, timeout: timeout),
                response.id == probe.id, response.rcode != .servFail, response.rcode != .refused
            {
                down.remove(upstream)
                logger.notice("upstream answers again", metadata: ["upstream": "\(upstream)"])
            }
        }
    }
}

extension ContinuousClock.Instant {
    /// Seconds since an arbitrary fixed point, for the cache's clock.
    var secondsSinceStart: Double {
        (self - ContinuousClock.Instant.processStart).inSeconds
    }

    static let processStart = ContinuousClock.now
}
