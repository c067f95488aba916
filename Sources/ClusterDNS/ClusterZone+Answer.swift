import DNS
import WeftNet

extension ClusterZone {
    /// The schema version served at `dns-version.ZONE` (specification §2.2).
    public static let schemaVersion = "1.1.0"
    /// The longest CNAME chain followed inside the zone.
    static let maxChain = 8

    /// The answer to a question about a name in the cluster zone or a reverse name of an address the zone
    /// publishes; `.notInZone` for anything else. Names compare without case (specification §2.1); answers carry
    /// the question's name as asked. The class is not looked at (CoreDNS's `kubernetes` plugin does not either).
    public func answer(_ question: Question) -> ZoneAnswer {
        answer(question, depth: 0)
    }

    func answer(_ question: Question, depth: Int) -> ZoneAnswer {
        let name = question.name
        if name.isSubdomain(of: configuration.zone) {
            let below = name.labels.prefix(name.labels.count - configuration.zone.labels.count)
            return answerInZone(question, labels: below, depth: depth)
        }
        // Reverse names: the zone answers for the addresses it publishes (§2.3.3, §2.4.3) and for nothing else
        // under in-addr.arpa and ip6.arpa — other addresses are the upstream's, as with CoreDNS's `fallthrough`.
        if let apex = AddressNames.reverseApex(of: question.name) {
            guard let owned = names[NameKey(question.name)] else { return .notInZone }
            return respond(question, records: Self.merged(owned), apex: apex, depth: depth)
        }
        return .notInZone
    }

    /// `labels`: the question's labels below the zone, most specific first.
    private func answerInZone(_ question: Question, labels: ArraySlice<[UInt8]>, depth: Int) -> ZoneAnswer {
        let zone = configuration.zone
        guard let lastLabel = labels.last else {
            // The apex: SOA and NS (CoreDNS answers both; the name server is `ns.dns.ZONE`).
            return respond(question, records: [.soa(soaData(apex: zone)), .ns(nameServer)], apex: zone, depth: depth)
        }
        let last = Self.lowercasedString(lastLabel)
        func label(_ index: Int) -> String { Self.lowercasedString(labels[labels.startIndex + index]) }
        let records: [RecordData]?
        switch (last, labels.count) {
        case ("dns-version", 1):
            records = [.txt([Array(Self.schemaVersion.utf8)])]
        case ("dns", 1):
            records = []  // The empty non-terminal above `ns.dns.ZONE`.
        case ("dns", 2) where label(0) == "ns":
            records = configuration.nameServerAddresses.map { $0.isIPv4 ? .a($0) : .aaaa($0) }
        case ("svc", 1), ("pod", 1):
            records = []  // CoreDNS: NODATA.
        case ("svc", 2):
            // `NS.svc.ZONE`: NODATA for an existing namespace, NXDOMAIN otherwise (CoreDNS).
            records = namespaceExists(label(0)) ? [] : nil
        case ("svc", _):
            records = names[NameKey(question.name)].map(Self.merged)
        case ("pod", 2) where configuration.podRecords:
            records = namespaceExists(label(0)) ? [] : nil
        case ("pod", 3) where configuration.podRecords:
            records = podRecords(label: label(0), namespace: label(1))
        default:
            records = nil
        }
        guard let records else { return negative(.nxDomain, apex: zone) }
        return respond(question, records: records, apex: zone, depth: depth)
    }

    /// §2.6 `a-b-c-d.NS.pod.ZONE` (and IPv6, dashed): only for an address a live pod of the namespace holds.
    private func podRecords(label: String, namespace: String) -> [RecordData]? {
        guard let address = AddressNames.address(dashed: label),
            podAddresses[PodAddress(namespace: namespace, address: address)] != nil
        else { return nil }
        return [address.isIPv4 ? .a(address) : .aaaa(address)]
    }

    /// The answer from the records at an existing name.
    private func respond(_ question: Question, records: [RecordData], apex: DNSName, depth: Int) -> ZoneAnswer {
        if question.type == .axfr || question.type == .ixfr {
            return ZoneAnswer(rcode: .refused, authoritative: false)
        }
        if question.type != .cname, question.type != .any,
            case .cname(let target)? = records.first(where: { $0.type == .cname })
        {
            return chase(question, to: target, depth: depth)
        }
        let matching = question.type == .any ? records : records.filter { $0.type == question.type }
        guard !matching.isEmpty else { return negative(.noError, apex: apex) }
        return ZoneAnswer(
            answers: matching.map { record($0, name: question.name) }, additional: additional(for: matching))
    }

    /// §2.5: the CNAME, then the target's records for the same type when the target is in the zone (RFC 1034
    /// §3.6.2; the rcode is the last name's, RFC 6604); a target outside is left to the server.
    private func chase(_ question: Question, to target: DNSName, depth: Int) -> ZoneAnswer {
        let cname = record(.cname(target), name: question.name)
        guard depth < Self.maxChain else { return ZoneAnswer(rcode: .servFail, answers: [cname]) }
        var next = answer(Question(name: target, type: question.type, class: question.class), depth: depth + 1)
        guard next.isInZone else { return ZoneAnswer(answers: [cname], externalTarget: target) }
        next.answers.insert(cname, at: 0)
        return next
    }

    /// NXDOMAIN or NODATA with the SOA of `apex` (RFC 2308 §2).
    private func negative(_ rcode: ResponseCode, apex: DNSName) -> ZoneAnswer {
        ZoneAnswer(rcode: rcode, authority: [record(.soa(soaData(apex: apex)), name: apex)])
    }

    /// The addresses of in-zone SRV and NS targets (§2.3.2, §2.4.2: the Additional section may hold them).
    private func additional(for records: [RecordData]) -> [ResourceRecord] {
        var targets: [DNSName] = []
        for data in records {
            switch data {
            case .srv(_, _, _, let target), .ns(let target):
                if !targets.contains(target) { targets.append(target) }
            default: break
            }
        }
        return targets.flatMap { target in addresses(of: target).map { record($0, name: target) } }
    }

    private func addresses(of name: DNSName) -> [RecordData] {
        if name == nameServer {
            return configuration.nameServerAddresses.map { $0.isIPv4 ? .a($0) : .aaaa($0) }
        }
        return (names[NameKey(name)].map(Self.merged) ?? []).filter { $0.type == .a || $0.type == .aaaa }
    }

    /// `ns.dns.ZONE`.
    var nameServer: DNSName {
        DNSName(labels: [Array("ns".utf8), Array("dns".utf8)] + configuration.zone.labels) ?? configuration.zone
    }

    /// The SOA of the zone or of a reverse apex, CoreDNS's fields: `ns.dns.APEX`, `hostmaster.APEX`, refresh
    /// 7200, retry 1800, expire 86400, minimum = the TTL (the negative-caching TTL).
    func soaData(apex: DNSName) -> SOAData {
        let primary =
            apex == configuration.zone
            ? nameServer : DNSName(labels: [Array("ns".utf8), Array("dns".utf8)] + apex.labels)!
        return SOAData(
            primary: primary, mailbox: apex.prepending("hostmaster") ?? apex, serial: serial, refresh: 7200,
            retry: 1800, expire: 86400, minimum: configuration.ttl)
    }

    private func record(_ data: RecordData, name: DNSName) -> ResourceRecord {
        ResourceRecord(name: name, ttl: configuration.ttl, data: data)
    }

    static func merged(_ owned: [Owned]) -> [RecordData] {
        guard owned.count > 1 else { return owned.first?.records ?? [] }
        var result: [RecordData] = []
        for data in owned.flatMap(\.records) where !result.contains(data) { result.append(data) }
        return result
    }

    static func lowercasedString(_ label: [UInt8]) -> String {
        String(decoding: label.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
