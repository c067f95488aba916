import DNS

/// The zone's answer to one question: the sections of a response, or word that the name is not the zone's.
public struct ZoneAnswer: Sendable, Hashable {
    /// False: the name lies outside the cluster zone and is not a reverse name of an address the zone publishes —
    /// the server forwards the question. Every other field is then empty.
    public var isInZone: Bool
    /// NOERROR (with answers, or NODATA without), NXDOMAIN, SERVFAIL for a CNAME chain too long or looping inside
    /// the zone, REFUSED for zone transfers.
    public var rcode: ResponseCode
    public var authoritative: Bool
    public var answers: [ResourceRecord]
    /// The zone's SOA on NXDOMAIN and NODATA (RFC 2308 §3): its minimum, the configured TTL, is the negative TTL.
    public var authority: [ResourceRecord]
    /// Addresses of in-zone SRV and NS targets.
    public var additional: [ResourceRecord]
    /// Set when a CNAME chain leaves the zone (an ExternalName Service): the name to resolve next, for the same
    /// type, whose records complete `answers`. The zone does not chase names it does not own.
    public var externalTarget: DNSName?

    public init(
        isInZone: Bool = true, rcode: ResponseCode = .noError, authoritative: Bool = true,
        answers: [ResourceRecord] = [], authority: [ResourceRecord] = [], additional: [ResourceRecord] = [],
        externalTarget: DNSName? = nil
    ) {
        self.isInZone = isInZone
        self.rcode = rcode
        self.authoritative = authoritative
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.externalTarget = externalTarget
    }

    public static let notInZone = ZoneAnswer(isInZone: false, authoritative: false)

    /// NOERROR without answers.
    public var isNoData: Bool { isInZone && rcode == .noError && answers.isEmpty && externalTarget == nil }
}
