import DNS
import WeftNet

/// What the cluster zone serves under: its name (kubelet's `--cluster-domain`, default `cluster.local`) and the
/// TTL of its records (CoreDNS's `kubernetes` plugin default: 30 s, within the specification's range).
public struct ClusterZoneConfiguration: Sendable, Equatable {
    public var zone: DNSName
    public var ttl: UInt32
    /// Whether `a-b-c-d.NS.pod.ZONE` names answer (the specification leaves them optional; CoreDNS's
    /// `pods insecure` answers any such name, `pods verified` only names of existing pods — this is `verified`).
    public var podRecords: Bool
    /// The addresses of the zone's name server, `ns.dns.ZONE` (the apex's NS target, as CoreDNS names it): the
    /// DNS Service's cluster IPs. Empty: the name exists without addresses.
    public var nameServerAddresses: [IPAddress]

    public init(
        zone: DNSName = DNSName("cluster.local")!, ttl: UInt32 = 30, podRecords: Bool = true,
        nameServerAddresses: [IPAddress] = []
    ) {
        self.zone = zone
        self.ttl = ttl
        self.podRecords = podRecords
        self.nameServerAddresses = nameServerAddresses
    }
}
