import Netlink
import WeftNet

/// ``OverlayKernel`` over rtnetlink, in the namespace of its route socket.
///
/// Ownership is checked on every change: a device is only changed or deleted when it carries
/// ``OverlayConfiguration/linkAlias``, and is never created over an existing link of the same name; routes carry
/// ``OverlayConfiguration/routeProtocol`` and are added exclusively, so a route someone else installed to the same
/// destination makes the add fail instead of being replaced.
public final class NetlinkOverlayKernel: OverlayKernel {
    private let socket: RouteSocket

    /// Uses `socket` (which stays bound to the namespace it was opened in).
    public init(socket: RouteSocket) {
        self.socket = socket
    }

    public func observe() throws -> OverlayState {
        var state = OverlayState()
        var owned: [Int32: String] = [:]
        for link in try socket.links() where link.alias == OverlayConfiguration.linkAlias && link.kind == "vxlan" {
            owned[link.index] = link.name
            state.devices[link.name] = VXLANDevice(
                name: link.name, vni: link.vxlanID ?? 0, port: link.vxlanPort ?? 0, local: link.vxlanLocal,
                mac: link.mac, mtu: link.mtu, isUp: link.isUp)
        }
        if !owned.isEmpty {
            for entry in try socket.addresses() where entry.scope == 0 {
                guard let name = owned[entry.index] else { continue }
                state.addresses[name, default: []].insert(entry.prefix)
            }
            for n in try socket.neighbours() where n.state & Neighbour.permanent != 0 {
                guard let name = owned[n.index], let mac = n.mac else { continue }
                state.neighbours.insert(OverlayNeighbour(device: name, address: n.address, mac: mac))
            }
            for e in try socket.fdb() where e.isSelf {
                guard let name = owned[e.index], let destination = e.destination else { continue }
                state.fdb.insert(OverlayFDBEntry(device: name, mac: e.mac, destination: destination))
            }
        }
        for family in IPFamily.allCases {
            for route in try socket.routes(family: family) where route.protocolID == OverlayConfiguration.routeProtocol
            {
                guard let gateway = route.gateway else { continue }
                state.routes[route.destination] = OverlayRoute(
                    destination: route.destination, gateway: gateway, device: route.outputIndex.flatMap { owned[$0] },
                    onlink: route.onlink)
            }
        }
        return state
    }

    public func underlayMTU(of address: IPAddress) throws -> Int? {
        guard let entry = try socket.addresses(family: address.family).first(where: { $0.prefix.address == address })
        else { return nil }
        return try socket.link(index: entry.index)?.mtu
    }

    public func apply(_ change: OverlayChange) throws {
        switch change {
        case .createDevice(let device): try create(device)
        case .deleteDevice(let device): try socket.deleteLink(index: ownedIndex(device.name))
        case .setMTU(let device, let mtu): try socket.setMTU(index: ownedIndex(device), mtu: mtu)
        case .setUp(let device): try socket.setUp(index: ownedIndex(device))
        case .addAddress(let device, let prefix):
            try socket.addAddress(index: ownedIndex(device), prefix: prefix, noDAD: true)
        case .deleteAddress(let device, let prefix): try socket.deleteAddress(index: ownedIndex(device), prefix: prefix)
        case .setFDB(let e): try socket.addFDB(fdbEntry(e), replace: true)
        case .deleteFDB(let e): try socket.deleteFDB(fdbEntry(e))
        case .setNeighbour(let n):
            try socket.addNeighbour(
                Neighbour(index: ownedIndex(n.device), address: n.address, mac: n.mac), replace: true)
        case .deleteNeighbour(let n):
            try socket.deleteNeighbour(Neighbour(index: ownedIndex(n.device), address: n.address, mac: n.mac))
        case .addRoute(let r): try socket.addRoute(route(r))
        case .replaceRoute(let r): try socket.replaceRoute(route(r))
        case .deleteRoute(let r): try socket.deleteRoute(route(r))
        }
    }

    /// Creates the device, then tags it, sets its MAC and brings it up; a failure after the creation deletes it
    /// again, so no untagged device is left behind.
    private func create(_ device: VXLANDevice) throws {
        if try socket.link(named: device.name) != nil { throw OverlayKernelError.linkExists(device.name) }
        try socket.addVXLAN(
            name: device.name, vni: device.vni, local: device.local, port: device.port, learning: false,
            mtu: device.mtu)
        guard let link = try socket.link(named: device.name) else {
            throw OverlayKernelError.linkMissing(device.name)
        }
        do {
            try socket.setAlias(index: link.index, alias: OverlayConfiguration.linkAlias)
            if let mac = device.mac { try socket.setMAC(index: link.index, mac: mac) }
            if device.isUp { try socket.setUp(index: link.index) }
        } catch {
            try? socket.deleteLink(index: link.index)
            throw error
        }
    }

    /// The index of the agent's link `name`; throws when there is none or it is not the agent's.
    private func ownedIndex(_ name: String) throws -> Int32 {
        guard let link = try socket.link(named: name) else { throw OverlayKernelError.linkMissing(name) }
        guard link.alias == OverlayConfiguration.linkAlias else { throw OverlayKernelError.linkNotOwned(name) }
        return link.index
    }

    private func fdbEntry(_ e: OverlayFDBEntry) throws -> FDBEntry {
        FDBEntry(index: try ownedIndex(e.device), mac: e.mac, destination: e.destination, isSelf: true, permanent: true)
    }

    private func route(_ r: OverlayRoute) throws -> Route {
        Route(
            destination: r.destination, gateway: r.gateway, outputIndex: try r.device.map(ownedIndex),
            protocolID: OverlayConfiguration.routeProtocol, onlink: r.onlink)
    }
}

/// A change the kernel edge refused in order not to touch a link that is not the agent's.
public enum OverlayKernelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A link of the device's name exists already (and is not the agent's, or it would have been reused).
    case linkExists(String)
    /// The link has no ``OverlayConfiguration/linkAlias``.
    case linkNotOwned(String)
    case linkMissing(String)

    public var description: String {
        switch self {
        case .linkExists(let name):
            "link \(name) exists and is not weft agent's (alias \(OverlayConfiguration.linkAlias)); not touching it"
        case .linkNotOwned(let name):
            "link \(name) is not weft agent's (no alias \(OverlayConfiguration.linkAlias)); not touching it"
        case .linkMissing(let name): "link \(name) does not exist"
        }
    }
}
