import DNS
import Testing
import WeftNet

@testable import DNSServer

struct ResponseCacheTests {
    static let question = Question(name: DNSName("Example.COM")!, type: .a)
    static let soa = ResourceRecord(
        name: DNSName("com")!, ttl: 900,
        data: .soa(
            SOAData(
                primary: DNSName("a.gtld-servers.net")!, mailbox: DNSName("nstld.verisign-grs.com")!, serial: 1,
                refresh: 1800, retry: 900, expire: 604800, minimum: 60)))

    static func response(rcode: ResponseCode = .noError, answers: [ResourceRecord], authority: [ResourceRecord] = [])
        -> DNSMessage
    {
        DNSMessage(id: 1, isResponse: true, rcode: rcode, questions: [question], answers: answers, authority: authority)
    }

    @Test func positiveAnswersLiveForTheirShortestTTLAndCountDown() {
        var cache = ResponseCache()
        let a = ResourceRecord(name: DNSName("example.com")!, ttl: 30, data: .a(IPAddress("192.0.2.1")!))
        let b = ResourceRecord(name: DNSName("example.com")!, ttl: 20, data: .a(IPAddress("192.0.2.2")!))
        let stored = cache.store(Self.response(answers: [a, b]), for: Self.question, now: 100)
        #expect(stored)
        let hit = cache.lookup(Question(name: DNSName("example.com")!, type: .a), now: 105)
        #expect(hit?.answers.map(\.ttl) == [25, 15], "case-insensitive key, TTLs counted down")
        let expired = cache.lookup(Self.question, now: 120)
        #expect(expired == nil, "expired with the shortest TTL")
        let otherType = cache.lookup(Question(name: DNSName("example.com")!, type: .aaaa), now: 101)
        #expect(otherType == nil)
    }

    @Test func negativeAnswersNeedAnSOAAndUseItsMinimum() {
        var cache = ResponseCache()
        let negative = cache.store(
            Self.response(rcode: .nxDomain, answers: [], authority: [Self.soa]), for: Self.question, now: 0)
        let fresh = cache.lookup(Self.question, now: 59)
        let stale = cache.lookup(Self.question, now: 61)
        #expect(negative && fresh?.rcode == .nxDomain)
        #expect(stale == nil, "min(SOA TTL 900, MINIMUM 60)")
        var truncated = Self.response(answers: [])
        truncated.truncated = true
        let refused = [
            cache.store(Self.response(rcode: .nxDomain, answers: []), for: Self.question, now: 0),
            cache.store(Self.response(rcode: .servFail, answers: []), for: Self.question, now: 0),
            cache.store(truncated, for: Self.question, now: 0),
        ]
        #expect(refused == [false, false, false], "no SOA, SERVFAIL, truncated")
    }

    @Test func boundedEvictingTheSoonestToExpire() {
        var cache = ResponseCache(capacity: 2)
        func store(_ name: String, ttl: UInt32) {
            let question = Question(name: DNSName(name)!, type: .a)
            let record = ResourceRecord(name: question.name, ttl: ttl, data: .a(IPAddress("192.0.2.1")!))
            cache.store(
                DNSMessage(id: 1, isResponse: true, questions: [question], answers: [record]), for: question, now: 0)
        }
        store("a.test", ttl: 100)
        store("b.test", ttl: 10)
        store("c.test", ttl: 50)
        #expect(cache.count == 2)
        let b = cache.lookup(Question(name: DNSName("b.test")!, type: .a), now: 1)
        let a = cache.lookup(Question(name: DNSName("a.test")!, type: .a), now: 1)
        #expect(b == nil && a != nil)
    }
}
