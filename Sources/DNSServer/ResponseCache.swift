import DNS

/// Forwarded answers kept for their TTL (RFC 1035 §7.4, RFC 2308 for negative answers), bounded in size.
///
/// An entry holds the answer's rcode and sections for one question (name without case, type, class). It lives
/// as long as its shortest TTL: the answer and authority records' for a positive answer, the SOA's (the lesser
/// of its TTL and its MINIMUM field, RFC 2308 §5) for NXDOMAIN and NODATA; a negative answer without an SOA is
/// not cached (§5), nor a SERVFAIL, a truncated answer or a TTL of zero. A hit returns the records with their
/// TTLs counted down. When full, the entry that expires first goes (the cache is for hot names; those are
/// refreshed often). Pure: the caller passes the time.
public struct ResponseCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var name: DNSName
        public var type: RecordType
        public var `class`: RecordClass

        public init(_ question: Question) {
            name = question.name.lowercased
            type = question.type
            self.class = question.class
        }
    }

    /// What a hit returns: the answer as it was, TTLs reduced by the time it spent here.
    public struct Entry: Sendable, Equatable {
        public var rcode: ResponseCode
        public var answers: [ResourceRecord]
        public var authority: [ResourceRecord]
        public var additional: [ResourceRecord]
    }

    private struct Stored: Sendable {
        var entry: Entry
        var storedAt: Double
        var expiresAt: Double
    }

    public let capacity: Int
    /// No entry lives longer than this (seconds), whatever its TTL.
    public let maximumTTL: UInt32
    private var entries: [Key: Stored] = [:]

    public init(capacity: Int = 10_000, maximumTTL: UInt32 = 3600) {
        self.capacity = max(capacity, 1)
        self.maximumTTL = maximumTTL
    }

    public var count: Int { entries.count }

    /// The entry for `question` at time `now` (seconds), if one is fresh.
    public mutating func lookup(_ question: Question, now: Double) -> Entry? {
        let key = Key(question)
        guard let stored = entries[key] else { return nil }
        guard now < stored.expiresAt else {
            entries[key] = nil
            return nil
        }
        let elapsed = UInt32(max(0, now - stored.storedAt))
        func aged(_ records: [ResourceRecord]) -> [ResourceRecord] {
            records.map { record in
                var record = record
                record.ttl = record.ttl > elapsed ? record.ttl - elapsed : 0
                return record
            }
        }
        var entry = stored.entry
        entry.answers = aged(entry.answers)
        entry.authority = aged(entry.authority)
        entry.additional = aged(entry.additional)
        return entry
    }

    /// Keeps `response` (an upstream's answer to `question`) when it may be cached; returns whether it was.
    @discardableResult
    public mutating func store(_ response: DNSMessage, for question: Question, now: Double) -> Bool {
        guard !response.truncated, let ttl = Self.cacheTTL(response) else { return false }
        let lifetime = min(ttl, maximumTTL)
        guard lifetime > 0 else { return false }
        let key = Key(question)
        if entries[key] == nil, entries.count >= capacity { evict(now: now) }
        entries[key] = Stored(
            entry: Entry(
                rcode: response.rcode, answers: response.answers, authority: response.authority,
                additional: response.additional),
            storedAt: now, expiresAt: now + Double(lifetime))
        return true
    }

    /// How long `response` may be cached, or nil when it may not.
    static func cacheTTL(_ response: DNSMessage) -> UInt32? {
        switch response.rcode {
        case .noError where !response.answers.isEmpty:
            return (response.answers + response.authority).map(\.ttl).min()
        case .noError, .nxDomain:
            // NODATA or NXDOMAIN: only with the zone's SOA (RFC 2308 §5).
            for record in response.authority {
                if case .soa(let soa) = record.data { return min(record.ttl, soa.minimum) }
            }
            return nil
        default:
            return nil
        }
    }

    /// Drops expired entries; when none had expired, the one closest to expiry.
    private mutating func evict(now: Double) {
        let before = entries.count
        entries = entries.filter { $0.value.expiresAt > now }
        if entries.count == before, let first = entries.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
            entries[first.key] = nil
        }
    }
}
