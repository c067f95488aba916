import DNS
import PrometheusText
import Synchronization

/// What `weft dns` reports on `/metrics` (names after CoreDNS's where there is one).
public final class DNSMetrics: Sendable {
    /// What responses are counted by: a struct, not a string, so counting costs no allocation.
    private struct ResponseKey: Hashable {
        var type: UInt16
        var rcode: UInt16
        var tcp: Bool
    }

    private struct Values {
        var responses: [ResponseKey: Int] = [:]
        var duration = PrometheusHistogram(
            bounds: PrometheusHistogram.exponential(start: 0.00025, factor: 2, count: 16))
        var cacheHits = 0
        var cacheMisses = 0
        var coalesced = 0
        var dropped = 0
        var programming = PrometheusHistogram(
            bounds: PrometheusHistogram.exponential(start: 0.0001, factor: 2, count: 16))
    }

    private let values = Mutex(Values())

    public init() {}

    func recordResponse(type: RecordType?, rcode: ResponseCode, transport: DNSResponder.Transport, duration: Duration) {
        let key = ResponseKey(type: type?.rawValue ?? 0, rcode: rcode.rawValue, tcp: transport == .tcp)
        values.withLock {
            $0.responses[key, default: 0] += 1
            $0.duration.observe(duration.inSeconds)
        }
    }

    /// The answers of one UDP batch the fast path sent from its cache, all `duration` after the batch arrived: one
    /// lock per batch, none per answer.
    func recordCached(_ tally: ResponseTally, duration: Duration) {
        guard tally.total > 0 else { return }
        let seconds = duration.inSeconds
        values.withLock {
            for row in tally.rows {
                $0.responses[ResponseKey(type: row.type, rcode: row.rcode, tcp: false), default: 0] += row.count
            }
            for _ in 0..<tally.total { $0.duration.observe(seconds) }
        }
    }

    func recordDropped() { values.withLock { $0.dropped += 1 } }

    func recordForward(_ source: Forwarder.Source) {
        values.withLock {
            switch source {
            case .cache: $0.cacheHits += 1
            case .upstream: $0.cacheMisses += 1
            case .coalesced: $0.coalesced += 1
            }
        }
    }

    /// An object change applied to the zone, `duration` after its informer event arrived.
    public func recordProgramming(_ duration: Duration) {
        values.withLock { $0.programming.observe(duration.inSeconds) }
    }

    /// Responses counted so far, by rcode name.
    public func responses(rcode: ResponseCode) -> Int {
        values.withLock { v in v.responses.filter { $0.key.rcode == rcode.rawValue }.values.reduce(0, +) }
    }

    /// Types CoreDNS counts by name; the rest are "other", so a client cannot grow the label set.
    static func typeLabel(_ type: RecordType) -> String {
        [.a, .aaaa, .cname, .ptr, .srv, .txt, .soa, .ns, .mx].contains(type) ? "\(type)" : "other"
    }

    public func prometheusText() -> String {
        let v = values.withLock { $0 }
        var out = PrometheusText()
        out.header(
            "weft_dns_responses_total", type: "counter", help: "Responses sent, by query type, rcode and transport.")
        let rows = v.responses.map { key, count in
            (
                type: key.type == 0 ? "other" : Self.typeLabel(RecordType(rawValue: key.type)),
                rcode: "\(ResponseCode(rawValue: key.rcode))", proto: key.tcp ? "tcp" : "udp", count: count
            )
        }
        for row in rows.sorted(by: { ($0.type, $0.rcode, $0.proto) < ($1.type, $1.rcode, $1.proto) }) {
            out.sample(
                "weft_dns_responses_total", labels: [("type", row.type), ("rcode", row.rcode), ("proto", row.proto)],
                "\(row.count)")
        }
        out.histogram(
            "weft_dns_request_duration_seconds", help: "Time from a query's arrival to its response.",
            series: [([], v.duration)])
        out.metric(
            "weft_dns_cache_hits_total", type: "counter", help: "Forwarded names answered from the cache.",
            value: "\(v.cacheHits)")
        out.metric(
            "weft_dns_cache_misses_total", type: "counter", help: "Forwarded names asked of an upstream.",
            value: "\(v.cacheMisses)")
        out.metric(
            "weft_dns_coalesced_total", type: "counter", help: "Queries that waited for an identical one in flight.",
            value: "\(v.coalesced)")
        out.metric(
            "weft_dns_dropped_total", type: "counter", help: "Messages dropped unanswered.", value: "\(v.dropped)")
        out.histogram(
            "weft_dns_programming_duration_seconds",
            help: "Time from an informer event (Service, EndpointSlice, Pod, Namespace) to the zone serving it.",
            series: [([], v.programming)])
        return out.text
    }

}

/// UDP answers counted by type and rcode on a fast-path thread until the batch is done: a few rows, searched in
/// order, their storage kept from batch to batch.
struct ResponseTally {
    struct Row {
        var type: UInt16
        var rcode: UInt16
        var count: Int
    }

    private(set) var rows: [Row] = []
    private(set) var total = 0

    init() { rows.reserveCapacity(8) }

    mutating func add(type: UInt16, rcode: UInt16) {
        total += 1
        for index in rows.indices where rows[index].type == type && rows[index].rcode == rcode {
            rows[index].count += 1
            return
        }
        rows.append(Row(type: type, rcode: rcode, count: 1))
    }

    mutating func reset() {
        rows.removeAll(keepingCapacity: true)
        total = 0
    }
}
