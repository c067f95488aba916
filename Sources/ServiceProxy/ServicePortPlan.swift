import WeftNet

/// Which service port of which family: the unit the proxy programs (kube-proxy's `ServicePortName` + family).
public struct ServicePortKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    /// The service port's name (empty for a single unnamed port).
    public var port: String
    public var `protocol`: TransportProtocol
    public var family: IPFamily

    public init(namespace: String, name: String, port: String, protocol: TransportProtocol, family: IPFamily) {
        self.namespace = namespace
        self.name = name
        self.port = port
        self.protocol = `protocol`
        self.family = family
    }

    public var description: String {
        "\(namespace)/\(name)" + (port.isEmpty ? "" : ":\(port)")
            + "/\(`protocol`.rawValue)/\(family == .v4 ? "v4" : "v6")"
    }

    public static func < (a: Self, b: Self) -> Bool { a.description < b.description }
}

/// The layer-4 protocols a Service port can have.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"

    /// The nft name (`meta l4proto tcp`).
    public var nftName: String { rawValue.lowercased() }
}

/// One backend of a service port: a pod address and the port it serves on.
public struct ServiceEndpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: Int
    /// On the node the proxy runs on.
    public var isLocal: Bool
    /// Known to be on another node (its EndpointSlice names another node; without a node name it may be here).
    public var isRemote: Bool
    public var ready: Bool
    public var serving: Bool
    public var terminating: Bool
    /// `hints.forZones` of the endpoint.
    public var zoneHints: Set<String>

    public init(
        address: IPAddress, port: Int, isLocal: Bool = false, isRemote: Bool = false, ready: Bool = true,
        serving: Bool = true, terminating: Bool = false, zoneHints: Set<String> = []
    ) {
        self.address = address
        self.port = port
        self.isLocal = isLocal
        self.isRemote = isRemote
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
        self.zoneHints = zoneHints
    }

    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    public static func < (a: Self, b: Self) -> Bool {
        // By address (numerically, which for one family is the order of their bytes), then port.
        (a.address, a.port) < (b.address, b.port)
    }
}

/// Everything the proxy programs for one service port of one family: where it answers and where it sends.
public struct ServicePortPlan: Sendable, Equatable {
    public var key: ServicePortKey
    public var clusterIP: IPAddress
    public var port: Int
    /// The node port, when the service has one (NodePort and LoadBalancer types).
    public var nodePort: Int?
    public var externalIPs: [IPAddress] = []
    public var loadBalancerIPs: [IPAddress] = []
    /// `loadBalancerSourceRanges` of this family (empty: any source).
    public var loadBalancerSourceRanges: [IPPrefix] = []
    /// `sessionAffinity: ClientIP`: how long a client sticks to its endpoint.
    public var affinityTimeoutSeconds: Int?
    /// `externalTrafficPolicy: Local` (for NodePort, externalIPs and load-balancer traffic).
    public var externalPolicyLocal = false
    /// `internalTrafficPolicy: Local` (for cluster-IP traffic).
    public var internalPolicyLocal = false
    public var healthCheckNodePort: Int?
    /// Every endpoint the slices list for this port and family, sorted.
    public var endpoints: [ServiceEndpoint] = []

    public init(key: ServicePortKey, clusterIP: IPAddress, port: Int) {
        self.key = key
        self.clusterIP = clusterIP
        self.port = port
    }

    /// Whether any frontend is reachable from outside the cluster (node ports, external or load-balancer IPs).
    public var isExternallyAccessible: Bool {
        nodePort != nil || !externalIPs.isEmpty || !loadBalancerIPs.isEmpty
    }
}
