import DNS

/// What the cluster zone serves under: its name (kubelet's `--cluster-domain`, default `cluster.local`) and the
/// TTL of its records (CoreDNS's `kubernetes` plugin default: 30 s, within the specification's range).
public struct ClusterZoneConfiguration: Sendable, Equatable {
    public var zone: DNSName
    public var ttl: UInt32
    /// Whether `a-b-c-d.NS.pod.ZONE` names answer (the specification leaves them optional; CoreDNS's
    /// `pods insecure` answers any such name, `pods verified` only names of existing pods — this is `verified`).
    public var podRecords: Bool

    public init(zone: DNSName = DNSName("cluster.local")!, ttl: UInt32 = 30, podRecords: Bool = true) {
        self.zone = zone
        self.ttl = ttl
        self.podRecords = podRecords
    }
}
