import DNS
import KubeModel
import Testing
import WeftNet

@testable import ClusterDNS

/// Builds zones from YAML manifests and renders answers as presentation text, one record a line.
enum ZoneTest {
    static func zone(
        _ yaml: String, configuration: ClusterZoneConfiguration = ClusterZoneConfiguration()
    ) throws -> ClusterZone {
        var zone = ClusterZone(configuration: configuration)
        try apply(yaml, to: &zone)
        return zone
    }

    static func apply(_ yaml: String, to zone: inout ClusterZone) throws {
        for document in try Manifest.decodeDocuments(yaml) {
            switch document["kind"]?.stringValue {
            case "Service": zone.update(service: try Manifest.decode(document))
            case "EndpointSlice": zone.update(slice: try Manifest.decode(document))
            case "Pod": zone.update(pod: try Manifest.decode(document))
            case "Namespace": zone.update(namespace: try Manifest.decode(document))
            default: Issue.record("unexpected document \(document)")
            }
        }
    }

    static func object<T: KubeObject>(_ yaml: String) throws -> T {
        try Manifest.decode(try #require(try Manifest.decodeDocuments(yaml).first))
    }

    static func ask(_ zone: ClusterZone, _ name: String, _ type: RecordType) -> ZoneAnswer {
        zone.answer(Question(name: DNSName(name)!, type: type))
    }

    static func text(_ records: [ResourceRecord]) -> [String] {
        records.map { "\($0.name) \($0.ttl) \($0.type) \(text($0.data))" }
    }

    static func text(_ data: RecordData) -> String {
        switch data {
        case .a(let address), .aaaa(let address): address.description
        case .ns(let name), .cname(let name), .ptr(let name): name.description
        case .txt(let strings): strings.map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: " ")
        case .srv(let priority, let weight, let port, let target): "\(priority) \(weight) \(port) \(target)"
        case .soa(let soa):
            "\(soa.primary) \(soa.mailbox) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .mx(let preference, let exchange): "\(preference) \(exchange)"
        case .unknown(let type, let bytes): "\(type) \(bytes)"
        }
    }

    /// The answer section as text; fails the test unless the answer is a positive, authoritative one.
    static func answers(
        _ zone: ClusterZone, _ name: String, _ type: RecordType, sourceLocation: SourceLocation = #_sourceLocation
    ) -> [String] {
        let answer = ask(zone, name, type)
        #expect(answer.isInZone && answer.authoritative, sourceLocation: sourceLocation)
        #expect(answer.rcode == .noError && answer.authority.isEmpty, sourceLocation: sourceLocation)
        return text(answer.answers)
    }

    /// Checks a negative answer: the rcode, no answers and the zone's SOA in the authority section.
    static func expectNegative(
        _ zone: ClusterZone, _ name: String, _ type: RecordType, _ rcode: ResponseCode,
        apex: String = "cluster.local.", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let answer = ask(zone, name, type)
        #expect(answer.isInZone && answer.authoritative, "\(name) \(type)", sourceLocation: sourceLocation)
        #expect(answer.rcode == rcode, "\(name) \(type): \(answer.rcode)", sourceLocation: sourceLocation)
        #expect(answer.answers.isEmpty, "\(name) \(type)", sourceLocation: sourceLocation)
        #expect(answer.authority.count == 1, sourceLocation: sourceLocation)
        if let soa = answer.authority.first, case .soa(let data) = soa.data {
            #expect(soa.name.description == apex, sourceLocation: sourceLocation)
            #expect(data.minimum == zone.configuration.ttl, "negative TTL", sourceLocation: sourceLocation)
        } else {
            Issue.record("no SOA in the authority section of \(name) \(type)", sourceLocation: sourceLocation)
        }
    }
}
