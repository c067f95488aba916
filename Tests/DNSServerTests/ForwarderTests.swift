import DNS
import Synchronization
import Testing
import WeftNet

@testable import DNSServer

/// The forwarder against a fake transport: failover, health checks, coalescing, caching, SERVFAIL.
struct ForwarderTests {
    /// Upstreams that answer, fail or hang, and count what they were asked.
    final class FakeTransport: UpstreamTransport {
        enum Behaviour: Sendable {
            case answer(ttl: UInt32)
            case fail
            case slow(Duration)
        }

        let behaviours: Mutex<[Upstream: Behaviour]>
        let asked = Mutex<[Upstream: Int]>([:])

        init(_ behaviours: [Upstream: Behaviour]) { self.behaviours = Mutex(behaviours) }

        func set(_ upstream: Upstream, _ behaviour: Behaviour) { behaviours.withLock { $0[upstream] = behaviour } }
        func count(_ upstream: Upstream) -> Int { asked.withLock { $0[upstream] ?? 0 } }

        struct Failure: Error {}

        func exchange(_ query: DNSMessage, with upstream: Upstream, timeout: Duration) async throws -> DNSMessage {
            asked.withLock { $0[upstream, default: 0] += 1 }
            var ttl: UInt32 = 60
            switch behaviours.withLock({ $0[upstream] }) ?? .fail {
            case .fail: throw Failure()
            case .slow(let delay):
                try await Task.sleep(for: delay)
            case .answer(let seconds): ttl = seconds
            }
            let question = query.questions[0]
            return DNSMessage(
                id: query.id, isResponse: true, recursionAvailable: true, questions: query.questions,
                answers: [ResourceRecord(name: question.name, ttl: ttl, data: .a(IPAddress("192.0.2.7")!))])
        }
    }

    final class Clock: Sendable {
        let value = Mutex(0.0)
        func advance(_ seconds: Double) { value.withLock { $0 += seconds } }
    }

    static let first = Upstream(host: "127.0.0.1", port: 5301)
    static let second = Upstream(host: "127.0.0.1", port: 5302)
    static let question = Question(name: DNSName("example.org")!, type: .a)

    @Test func failsOverSkipsTheFailedUpstreamAndTakesItBackAfterAHealthCheck() async {
        let transport = FakeTransport([Self.first: .fail, Self.second: .answer(ttl: 0)])
        let forwarder = Forwarder(upstreams: [Self.first, Self.second], transport: transport)
        let answer = await forwarder.resolve(Self.question)
        #expect(answer.entry.rcode == .noError && answer.entry.answers.count == 1 && answer.source == .upstream)
        #expect(await forwarder.unhealthy == [Self.first])
        _ = await forwarder.resolve(Self.question)
        #expect(transport.count(Self.first) == 1, "a failed upstream is skipped while another answers")
        transport.set(Self.first, .answer(ttl: 0))
        await forwarder.checkHealth()
        #expect(await forwarder.unhealthy.isEmpty)
        _ = await forwarder.resolve(Self.question)
        #expect(transport.count(Self.first) == 3, "the health check and the query")
    }

    @Test func servfailWhenEveryUpstreamFails() async {
        let forwarder = Forwarder(
            upstreams: [Self.first, Self.second], transport: FakeTransport([Self.first: .fail, Self.second: .fail]))
        let answer = await forwarder.resolve(Self.question)
        #expect(answer.entry.rcode == .servFail && answer.entry.answers.isEmpty)
    }

    @Test func cachesUntilTheTTLPasses() async {
        let transport = FakeTransport([Self.first: .answer(ttl: 30)])
        let clock = Clock()
        let forwarder = Forwarder(
            upstreams: [Self.first], transport: transport, now: { clock.value.withLock { $0 } })
        _ = await forwarder.resolve(Self.question)
        clock.advance(10)
        let hit = await forwarder.resolve(Question(name: DNSName("EXAMPLE.org")!, type: .a))
        #expect(hit.source == .cache && hit.entry.answers.first?.ttl == 20)
        clock.advance(21)
        #expect(await forwarder.resolve(Self.question).source == .upstream)
        #expect(transport.count(Self.first) == 2)
    }

    @Test func identicalQuestionsInFlightAreAskedOnce() async {
        let transport = FakeTransport([Self.first: .slow(.milliseconds(200))])
        let forwarder = Forwarder(upstreams: [Self.first], transport: transport)
        let sources = await withTaskGroup(of: Forwarder.Source.self) { group in
            for _ in 0..<20 { group.addTask { await forwarder.resolve(Self.question).source } }
            return await group.reduce(into: [Forwarder.Source]()) { $0.append($1) }
        }
        #expect(transport.count(Self.first) == 1)
        #expect(sources.filter { $0 == .upstream }.count == 1 && sources.count == 20)
    }
}
