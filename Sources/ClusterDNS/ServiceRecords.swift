import DNS
import KubeModel
import WeftNet

/// A namespace and a name: the key of a Service, an EndpointSlice or a Pod.
struct ObjectKey: Hashable, Sendable {
    var namespace: String
    var name: String
}

/// A port that has an SRV record: a named port (specification §2.3.2 and §2.4.2: unnamed ports have none).
struct NamedPort: Hashable, Sendable {
    var name: String
    var `protocol`: String
    var port: UInt16

    /// `nil` for an unnamed port or a number out of range.
    init?(name: String?, protocol: PortProtocol?, port: Int?) {
        guard let name, !name.isEmpty, let port, let number = UInt16(exactly: port) else { return nil }
        self.name = name
        self.protocol = (`protocol` ?? .tcp).rawValue.lowercased()
        self.port = number
    }
}

/// What the zone reads of a Service.
struct ServiceSummary: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// ClusterIP, NodePort and LoadBalancer services: their cluster IPs (none while unallocated).
        case clusterIP([IPAddress])
        case headless
        /// The target, nil when `externalName` is not a name (CoreDNS then serves nothing for the service).
        case externalName(DNSName?)
    }

    var kind: Kind
    var ports: [NamedPort]
    /// `publishNotReadyAddresses`, or the annotation schema 1.0.x named (§2.1 _ready_).
    var publishNotReady: Bool

    static let tolerateUnreadyAnnotation = "service.alpha.kubernetes.io/tolerate-unready-endpoints"

    init(_ service: Service) {
        let spec = service.spec
        if spec?.type == "ExternalName" {
            let target = spec?.externalName.flatMap { text -> DNSName? in
                // An address is not a CNAME target (CoreDNS's HostType check).
                guard IPAddress(text) == nil, let name = DNSName(text), !name.isRoot else { return nil }
                return name
            }
            kind = .externalName(target)
        } else if spec?.isHeadless == true {
            kind = .headless
        } else {
            let texts = spec?.clusterIPs ?? spec?.clusterIP.map { [$0] } ?? []
            var addresses: [IPAddress] = []
            for address in texts.compactMap(IPAddress.init) where !addresses.contains(address) {
                addresses.append(address)
            }
            kind = .clusterIP(addresses)
        }
        ports = (spec?.ports ?? []).compactMap { NamedPort(name: $0.name, protocol: $0.protocol, port: $0.port) }
        publishNotReady =
            spec?.publishNotReadyAddresses == true
            || service.metadata.annotations?[Self.tolerateUnreadyAnnotation]?.lowercased() == "true"
    }
}

/// What the zone reads of an EndpointSlice.
struct SliceSummary: Hashable, Sendable {
    struct Endpoint: Hashable, Sendable {
        var addresses: [IPAddress]
        var hostname: String?
        var ready: Bool
    }

    /// The Service it belongs to (`kubernetes.io/service-name`).
    var service: String?
    var endpoints: [Endpoint]
    /// Named ports with a number: the SRV ports of a headless Service's endpoints.
    var ports: [NamedPort]

    init(_ slice: EndpointSlice) {
        service = slice.serviceName
        let family: IPFamily? =
            switch slice.addressType {
            case "IPv4": .v4
            case "IPv6": .v6
            default: nil  // FQDN slices carry no addresses for DNS.
            }
        endpoints = slice.endpoints.compactMap { endpoint in
            guard let family else { return nil }
            let addresses = endpoint.addresses.compactMap(IPAddress.init).filter { $0.family == family }
            guard !addresses.isEmpty else { return nil }
            let hostname = endpoint.hostname.flatMap { $0.isEmpty ? nil : $0 }
            // An absent `ready` means ready (EndpointConditions' API semantics).
            return Endpoint(addresses: addresses, hostname: hostname, ready: endpoint.conditions?.ready ?? true)
        }
        ports = (slice.ports ?? []).compactMap { NamedPort(name: $0.name, protocol: $0.protocol, port: $0.port) }
    }
}

/// What the zone reads of a Pod.
struct PodSummary: Hashable, Sendable {
    var addresses: [IPAddress]
    var hostname: String?
    var subdomain: String?
    var ready: Bool

    /// Nil for a pod that has no name in the zone: not yet given an address, terminating (CoreDNS ignores pods
    /// with a deletion timestamp) or finished.
    init?(_ pod: Pod) {
        guard pod.metadata.deletionTimestamp == nil else { return nil }
        guard let status = pod.status, status.phase != "Succeeded", status.phase != "Failed" else { return nil }
        var addresses: [IPAddress] = []
        let texts = (status.podIPs?.map(\.ip) ?? []) + (status.podIP.map { [$0] } ?? [])
        for address in texts.compactMap(IPAddress.init) where !addresses.contains(address) {
            addresses.append(address)
        }
        guard !addresses.isEmpty else { return nil }
        self.addresses = addresses
        hostname = pod.spec?.hostname.flatMap { $0.isEmpty ? nil : $0 }
        subdomain = pod.spec?.subdomain.flatMap { $0.isEmpty ? nil : $0 }
        ready = pod.isReady
    }
}

/// The records of one Service, by owner name (lower case): a pure function of the Service, its EndpointSlices
/// and the pods naming it as their subdomain. An owner name with no records exists all the same (an empty
/// non-terminal, or a name whose records are of other types): it answers NODATA, not NXDOMAIN.
struct ServiceRecordSet: Equatable, Sendable {
    var records: [DNSName: [RecordData]] = [:]
    private var seen: Set<Pair> = []

    private struct Pair: Hashable {
        var name: DNSName
        var data: RecordData
    }

    var isEmpty: Bool { records.isEmpty }

    static func == (a: Self, b: Self) -> Bool { a.records == b.records }

    mutating func touch(_ name: DNSName) {
        if records[name] == nil { records[name] = [] }
    }

    mutating func add(_ name: DNSName, _ data: RecordData) {
        guard seen.insert(Pair(name: name, data: data)).inserted else { return }
        records[name, default: []].append(data)
    }

    /// Builds the set. `slices` and `pods` in a stable order, so equal inputs give equal sets.
    init(
        key: ObjectKey, service: ServiceSummary, slices: [SliceSummary], pods: [PodSummary], zone: DNSName
    ) {
        guard
            let base = DNSName(
                labels: [Array(key.name.utf8), Array(key.namespace.utf8), Array("svc".utf8)] + zone.labels)?
                .lowercased
        else { return }
        switch service.kind {
        case .externalName(let target):
            // §2.5: a CNAME to the external name. Nothing else, and no names below it.
            if let target { add(base, .cname(target)) }
        case .clusterIP(let addresses):
            // §2.3.1: A or AAAA by the cluster IP's family (a dual-stack Service has both).
            touch(base)
            for address in addresses {
                add(base, address.isIPv4 ? .a(address) : .aaaa(address))
                // §2.3.3: PTR for each cluster IP, IPv4 and IPv6.
                add(AddressNames.reverseName(of: address), .ptr(base))
            }
            // §2.3.2: one SRV per named port, targeting the Service's own name.
            for port in service.ports {
                addSRV(base: base, port: port, target: base)
            }
        case .headless:
            buildHeadless(base: base, service: service, slices: slices, pods: pods)
        }
        fixWeights()
    }

    /// §2.4: records of the _ready_ endpoints (all of them when `publishNotReadyAddresses`, §2.1).
    private mutating func buildHeadless(
        base: DNSName, service: ServiceSummary, slices: [SliceSummary], pods: [PodSummary]
    ) {
        for slice in slices {
            for endpoint in slice.endpoints where endpoint.ready || service.publishNotReady {
                for address in endpoint.addresses {
                    // §2.1 _hostname_: the endpoint's `hostname`, else a generated one (CoreDNS's dashed address).
                    let label = endpoint.hostname ?? AddressNames.dashed(address)
                    guard let host = base.prepending(label)?.lowercased else { continue }
                    let data: RecordData = address.isIPv4 ? .a(address) : .aaaa(address)
                    // §2.4.1: the Service name answers every ready address; the hostname its own ones.
                    add(base, data)
                    add(host, data)
                    // §2.4.3: PTR to the endpoint's hostname.
                    add(AddressNames.reverseName(of: address), .ptr(host))
                    // §2.4.2: N×M SRV, the port number being the endpoint's (CoreDNS: the slice's port, which
                    // is what a client of a headless Service connects to).
                    for port in slice.ports {
                        addSRV(base: base, port: port, target: host)
                    }
                }
            }
        }
        // A pod with `hostname` and `subdomain` naming this headless Service has `hostname.subdomain.NS.svc.ZONE`
        // (Kubernetes' DNS for Pods; ready, unless the Service publishes not-ready addresses). The EndpointSlice
        // controller puts the same hostname on the pod's endpoint; both give the same records.
        for pod in pods where pod.ready || service.publishNotReady {
            guard let hostname = pod.hostname, let host = base.prepending(hostname)?.lowercased else { continue }
            for address in pod.addresses {
                add(host, address.isIPv4 ? .a(address) : .aaaa(address))
            }
        }
        // §2.4.1: with no ready endpoint the Service's name is NXDOMAIN — unless a name below it exists, which
        // makes it an empty non-terminal (RFC 8020), NODATA.
        if !records.isEmpty { touch(base) }
    }

    /// `_port._proto.BASE` SRV (the `_proto.BASE` label between is an empty non-terminal).
    private mutating func addSRV(base: DNSName, port: NamedPort, target: DNSName) {
        guard let proto = base.prepending("_" + port.protocol)?.lowercased,
            let name = proto.prepending("_" + port.name)?.lowercased
        else { return }
        touch(proto)
        add(name, .srv(priority: 0, weight: 0, port: port.port, target: target))
    }

    /// CoreDNS's weights: priority 0 for all, each record of a name `100 / count` (at least 1), so clients spread
    /// evenly (RFC 2782; the specification leaves both numbers open).
    private mutating func fixWeights() {
        for (name, data) in records where data.contains(where: { $0.type == .srv }) {
            let count = data.count { $0.type == .srv }
            let weight = UInt16(max(1, 100 / count))
            records[name] = data.map { record in
                guard case .srv(let priority, _, let port, let target) = record else { return record }
                return .srv(priority: priority, weight: weight, port: port, target: target)
            }
        }
    }
}
