import WeftNet

/// One change to the kernel, as the reconciler applies it. Described like the `ip`/`bridge` command that would
/// make it.
public enum OverlayChange: Sendable, Hashable, CustomStringConvertible {
    case deleteRoute(OverlayRoute)
    case deleteNeighbour(OverlayNeighbour)
    case deleteFDB(OverlayFDBEntry)
    case deleteDevice(VXLANDevice)
    /// Creates the device with the agent's alias and its MAC, and brings it up.
    case createDevice(VXLANDevice)
    case setMTU(device: String, mtu: Int)
    case setUp(device: String)
    case addAddress(device: String, IPPrefix)
    case deleteAddress(device: String, IPPrefix)
    /// Adds or replaces the entry for the MAC.
    case setFDB(OverlayFDBEntry)
    /// Adds or replaces the entry for the address.
    case setNeighbour(OverlayNeighbour)
    case addRoute(OverlayRoute)
    /// Replaces the agent's route to the same destination.
    case replaceRoute(OverlayRoute)

    public var description: String {
        switch self {
        case .deleteRoute(let r): "ip route del \(r)"
        case .deleteNeighbour(let n): "ip neigh del \(n.address) dev \(n.device)"
        case .deleteFDB(let e): "bridge fdb del \(e)"
        case .deleteDevice(let d): "ip link del \(d.name)"
        case .createDevice(let d): "ip link add \(d)"
        case .setMTU(let device, let mtu): "ip link set \(device) mtu \(mtu)"
        case .setUp(let device): "ip link set \(device) up"
        case .addAddress(let device, let prefix): "ip addr add \(prefix) dev \(device)"
        case .deleteAddress(let device, let prefix): "ip addr del \(prefix) dev \(device)"
        case .setFDB(let e): "bridge fdb replace \(e)"
        case .setNeighbour(let n): "ip neigh replace \(n)"
        case .addRoute(let r): "ip route add \(r)"
        case .replaceRoute(let r): "ip route replace \(r)"
        }
    }
}
