import DNS
import KubeModel
import WeftNet

/// The cluster zone of the Kubernetes DNS-Based Service Discovery specification, schema 1.1.0
/// (kubernetes/dns docs/specification.md), built from Services, EndpointSlices, Pods and Namespaces, and the
/// reverse names (`in-addr.arpa.`, `ip6.arpa.`) of the addresses it publishes.
///
/// Each Service owns the records it gives rise to (`ServiceRecordSet`); a change to a Service, to one of its
/// slices or to a pod naming it as its subdomain rebuilds that Service's set alone and applies the difference to
/// the index of owner names. Lookups are a dictionary access by name (names hash without case). Pod names
/// (`a-b-c-d.NS.pod.ZONE`) are looked up by address. The dictionaries are sharded, so a zone copied to readers
/// and then changed copies one shard, not the zone.
public struct ClusterZone: Sendable {
    public private(set) var configuration: ClusterZoneConfiguration
    /// The SOA serial: counts changes (wrapping). Readers can tell two versions apart by it.
    public var serial: UInt32 = 1

    var services = ShardedDictionary<ObjectKey, ServiceSummary>()
    var slices = ShardedDictionary<ObjectKey, SliceSummary>()
    /// Slice names by their Service's key.
    var slicesByService = ShardedDictionary<ObjectKey, Set<String>>()
    var pods = ShardedDictionary<ObjectKey, PodSummary>()
    /// Names of pods with a hostname, by (namespace, subdomain).
    var podsBySubdomain = ShardedDictionary<ObjectKey, Set<String>>()
    /// How many live pods hold an address in a namespace (hostNetwork pods share the node's).
    var podAddresses = ShardedDictionary<PodAddress, Int>()
    /// How many Services and Pods, plus the Namespace object itself, make a namespace exist.
    var namespaceReferences = ShardedDictionary<String, Int>()
    var namespaceObjects: Set<String> = []
    /// Each Service's records, by owner name.
    var serviceRecords = ShardedDictionary<ObjectKey, [DNSName: [RecordData]]>()
    /// Every owner name of every Service (service names, hostnames, SRV names, reverse names): who owns it and
    /// with what records.
    var names = ShardedDictionary<NameKey, [Owned]>()

    struct PodAddress: Hashable, Sendable {
        var namespace: String
        var address: IPAddress
    }

    struct Owned: Hashable, Sendable {
        var owner: ObjectKey
        var records: [RecordData]
    }

    public init(configuration: ClusterZoneConfiguration = ClusterZoneConfiguration()) {
        self.configuration = configuration
    }

    /// How many owner names the Services give rise to.
    public var nameCount: Int { names.count }

    // MARK: Services

    public mutating func update(service: Service) {
        guard let key = Self.key(service.metadata) else { return }
        let summary = ServiceSummary(service)
        let old = services[key]
        guard old != summary else { return }
        if old == nil { reference(key.namespace, by: 1) }
        services[key] = summary
        rebuild(key)
    }

    public mutating func remove(service: Service) {
        guard let key = Self.key(service.metadata) else { return }
        removeService(namespace: key.namespace, name: key.name)
    }

    public mutating func removeService(namespace: String, name: String) {
        let key = ObjectKey(namespace: namespace, name: name)
        guard services[key] != nil else { return }
        services[key] = nil
        reference(namespace, by: -1)
        rebuild(key)
    }

    // MARK: EndpointSlices

    public mutating func update(slice: EndpointSlice) {
        guard let key = Self.key(slice.metadata) else { return }
        let summary = SliceSummary(slice)
        let old = slices[key]
        guard old != summary else { return }
        slices[key] = summary
        if let service = old?.service, service != summary.service {
            detach(slice: key.name, from: ObjectKey(namespace: key.namespace, name: service))
        }
        if let service = summary.service {
            let owner = ObjectKey(namespace: key.namespace, name: service)
            slicesByService.modify(owner) { set in
                if set == nil { set = [] }
                set!.insert(key.name)
            }
            rebuild(owner)
        }
    }

    public mutating func remove(slice: EndpointSlice) {
        guard let key = Self.key(slice.metadata) else { return }
        removeSlice(namespace: key.namespace, name: key.name)
    }

    public mutating func removeSlice(namespace: String, name: String) {
        let key = ObjectKey(namespace: namespace, name: name)
        guard let old = slices[key] else { return }
        slices[key] = nil
        if let service = old.service { detach(slice: name, from: ObjectKey(namespace: namespace, name: service)) }
    }

    private mutating func detach(slice: String, from service: ObjectKey) {
        slicesByService.modify(service) { set in
            set?.remove(slice)
            if set?.isEmpty == true { set = nil }
        }
        rebuild(service)
    }

    // MARK: Pods

    public mutating func update(pod: Pod) {
        guard let key = Self.key(pod.metadata) else { return }
        set(pod: key, to: PodSummary(pod))
    }

    public mutating func remove(pod: Pod) {
        guard let key = Self.key(pod.metadata) else { return }
        removePod(namespace: key.namespace, name: key.name)
    }

    public mutating func removePod(namespace: String, name: String) {
        set(pod: ObjectKey(namespace: namespace, name: name), to: nil)
    }

    private mutating func set(pod key: ObjectKey, to summary: PodSummary?) {
        let old = pods[key]
        guard old != summary else { return }
        pods[key] = summary
        if old == nil { reference(key.namespace, by: 1) }
        if summary == nil { reference(key.namespace, by: -1) }
        for address in old?.addresses ?? [] where !(summary?.addresses.contains(address) ?? false) {
            podAddresses.modify(PodAddress(namespace: key.namespace, address: address)) { count in
                count = (count ?? 1) > 1 ? count! - 1 : nil
            }
        }
        for address in summary?.addresses ?? [] where !(old?.addresses.contains(address) ?? false) {
            podAddresses.modify(PodAddress(namespace: key.namespace, address: address)) { count in
                count = (count ?? 0) + 1
            }
        }
        serial &+= 1
        // The pod's hostname under its subdomain's Service, old and new.
        let oldSubdomain = old?.hostname != nil ? old?.subdomain : nil
        let newSubdomain = summary?.hostname != nil ? summary?.subdomain : nil
        if let oldSubdomain, oldSubdomain != newSubdomain {
            podsBySubdomain.modify(ObjectKey(namespace: key.namespace, name: oldSubdomain)) { set in
                set?.remove(key.name)
                if set?.isEmpty == true { set = nil }
            }
        }
        if let newSubdomain {
            podsBySubdomain.modify(ObjectKey(namespace: key.namespace, name: newSubdomain)) { set in
                if set == nil { set = [] }
                set!.insert(key.name)
            }
        }
        for subdomain in Set([oldSubdomain, newSubdomain].compactMap { $0 }) {
            let service = ObjectKey(namespace: key.namespace, name: subdomain)
            if services[service] != nil { rebuild(service) }
        }
    }

    // MARK: Namespaces

    /// A Namespace makes `NS.svc.ZONE` and `NS.pod.ZONE` exist (NODATA rather than NXDOMAIN) before anything is
    /// in it; a namespace with Services or Pods exists without its object.
    public mutating func update(namespace: Namespace) {
        guard let name = namespace.metadata.name, !namespaceObjects.contains(name) else { return }
        namespaceObjects.insert(name)
        reference(name, by: 1)
    }

    public mutating func remove(namespace: Namespace) {
        guard let name = namespace.metadata.name else { return }
        removeNamespace(name)
    }

    public mutating func removeNamespace(_ name: String) {
        guard namespaceObjects.remove(name) != nil else { return }
        reference(name, by: -1)
    }

    /// Whether the namespace exists as far as the zone knows.
    public func namespaceExists(_ name: String) -> Bool { namespaceReferences[name] != nil }

    private mutating func reference(_ namespace: String, by delta: Int) {
        namespaceReferences.modify(namespace) { count in
            let new = (count ?? 0) + delta
            count = new > 0 ? new : nil
        }
        serial &+= 1
    }

    // MARK: Rebuilding one Service

    /// Rebuilds the records of one Service from what the zone holds, and applies the difference to the index.
    private mutating func rebuild(_ key: ObjectKey) {
        var new: [DNSName: [RecordData]] = [:]
        if let service = services[key] {
            var sliceSummaries: [SliceSummary] = []
            var podSummaries: [PodSummary] = []
            if service.kind == .headless {
                let sliceNames = (slicesByService[key] ?? []).sorted()
                sliceSummaries = sliceNames.compactMap { slices[ObjectKey(namespace: key.namespace, name: $0)] }
                let podNames = (podsBySubdomain[key] ?? []).sorted()
                podSummaries = podNames.compactMap { pods[ObjectKey(namespace: key.namespace, name: $0)] }
            }
            new =
                ServiceRecordSet(
                    key: key, service: service, slices: sliceSummaries, pods: podSummaries,
                    zone: configuration.zone
                ).records
        }
        let old = serviceRecords[key] ?? [:]
        guard new != old else { return }
        for name in old.keys where new[name] == nil {
            names.modify(NameKey(name)) { owned in
                owned?.removeAll { $0.owner == key }
                if owned?.isEmpty == true { owned = nil }
            }
        }
        for (name, records) in new where old[name] != records {
            names.modify(NameKey(name)) { owned in
                var list = owned ?? []
                if let index = list.firstIndex(where: { $0.owner == key }) {
                    list[index].records = records
                } else {
                    list.append(Owned(owner: key, records: records))
                    // Several owners of one name (a reverse name of an address two Services publish): a stable
                    // order, so answers do not depend on the order of events.
                    if list.count > 1 {
                        list.sort { ($0.owner.namespace, $0.owner.name) < ($1.owner.namespace, $1.owner.name) }
                    }
                }
                owned = list
            }
        }
        serviceRecords[key] = new.isEmpty ? nil : new
        serial &+= 1
    }

    static func key(_ metadata: ObjectMeta) -> ObjectKey? {
        guard let name = metadata.name, !name.isEmpty else { return nil }
        return ObjectKey(namespace: metadata.namespace ?? "default", name: name)
    }
}
