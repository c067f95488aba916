import WeftNet

/// The overlay's part of a node's kernel state, by interface name rather than index: what the agent wants (an
/// ``OverlayPlan``'s `state`) or what it owns now (``OverlayKernel/observe()``).
public struct OverlayState: Sendable, Hashable {
    /// VXLAN devices by name.
    public var devices: [String: VXLANDevice]
    /// The addresses (global scope) of each device, by device name.
    public var addresses: [String: Set<IPPrefix>]
    /// Routes to peers' pod CIDRs, by destination: Weft installs one route per destination.
    public var routes: [IPPrefix: OverlayRoute]
    public var neighbours: Set<OverlayNeighbour>
    public var fdb: Set<OverlayFDBEntry>

    public init(
        devices: [String: VXLANDevice] = [:], addresses: [String: Set<IPPrefix>] = [:],
        routes: [IPPrefix: OverlayRoute] = [:], neighbours: Set<OverlayNeighbour> = [],
        fdb: Set<OverlayFDBEntry> = []
    ) {
        self.devices = devices
        self.addresses = addresses
        self.routes = routes
        self.neighbours = neighbours
        self.fdb = fdb
    }
}

/// A route to a peer's pod CIDR: via the peer's underlay address (host-gw), or via the peer's gateway address
/// on-link on a VXLAN device.
public struct OverlayRoute: Sendable, Hashable, CustomStringConvertible {
    public var destination: IPPrefix
    public var gateway: IPAddress
    /// The VXLAN device; nil when the kernel picks the underlay interface that reaches the gateway.
    public var device: String?
    /// The gateway counts as directly attached (`RTNH_F_ONLINK`) although no connected route covers it.
    public var onlink: Bool

    public init(destination: IPPrefix, gateway: IPAddress, device: String? = nil, onlink: Bool = false) {
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.onlink = onlink
    }

    public var description: String {
        "\(destination) via \(gateway)\(device.map { " dev \($0)" } ?? "")\(onlink ? " onlink" : "")"
    }
}

/// A permanent neighbour entry on a VXLAN device: a peer's gateway address → the peer's VTEP MAC.
public struct OverlayNeighbour: Sendable, Hashable, CustomStringConvertible {
    public var device: String
    public var address: IPAddress
    public var mac: MACAddress

    public init(device: String, address: IPAddress, mac: MACAddress) {
        self.device = device
        self.address = address
        self.mac = mac
    }

    public var description: String { "\(address) lladdr \(mac) dev \(device)" }
}

/// A VXLAN forwarding entry: a peer's VTEP MAC → the peer's underlay address.
public struct OverlayFDBEntry: Sendable, Hashable, CustomStringConvertible {
    public var device: String
    public var mac: MACAddress
    public var destination: IPAddress

    public init(device: String, mac: MACAddress, destination: IPAddress) {
        self.device = device
        self.mac = mac
        self.destination = destination
    }

    public var description: String { "\(mac) dst \(destination) dev \(device)" }
}
