import WeftNet

/// What the service proxy knows of the node it programs: its name and zone (for local endpoints and topology),
/// and the addresses NodePorts answer on.
public struct ProxyNode: Sendable, Equatable {
    public var name: String
    /// The node's `topology.kubernetes.io/zone` label, when it has one.
    public var zone: String?
    /// The addresses NodePort services listen on (kube-proxy's `--nodeport-addresses`: by default the node's).
    public var nodePortAddresses: [IPAddress]
    /// The range node ports must come from (`--service-node-port-range`); others are skipped.
    public var nodePortRange: ClosedRange<Int>

    public init(
        name: String, zone: String? = nil, nodePortAddresses: [IPAddress] = [],
        nodePortRange: ClosedRange<Int> = 30000...32767
    ) {
        self.name = name
        self.zone = zone
        self.nodePortAddresses = nodePortAddresses
        self.nodePortRange = nodePortRange
    }
}
