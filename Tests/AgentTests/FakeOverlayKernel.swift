import Agent
import Synchronization
import WeftNet

/// An in-memory ``OverlayKernel`` with the kernel's semantics where the reconciler depends on them: adding what
/// exists fails, deleting what is missing fails, deleting a device takes its addresses, neighbour and FDB
/// entries and routes with it. Links and routes that are not the agent's can be planted to check that the
/// reconciler leaves them alone.
final class FakeOverlayKernel: OverlayKernel {
    struct Contents {
        var state = OverlayState()
        /// Links of other owners, by name.
        var foreignLinks: Set<String> = []
        /// Routes of other owners, by destination.
        var foreignRoutes: Set<IPPrefix> = []
        var underlayMTU: [IPAddress: Int] = [:]
        /// Every change applied successfully, in order.
        var applied: [OverlayChange] = []
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    private let contents: Mutex<Contents>

    init(underlayMTU: [IPAddress: Int] = [:]) {
        contents = Mutex(Contents(underlayMTU: underlayMTU))
    }

    /// Reads or changes the contents (to look, or to change the "kernel" behind the agent's back).
    func with<R>(_ body: (inout Contents) -> R) -> R {
        contents.withLock { body(&$0) }
    }

    var state: OverlayState { with { $0.state } }
    var applied: [OverlayChange] { with { $0.applied } }

    func observe() throws -> OverlayState { state }

    func underlayMTU(of address: IPAddress) throws -> Int? { with { $0.underlayMTU[address] } }

    func apply(_ change: OverlayChange) throws {
        try contents.withLock { c in
            try Self.apply(change, to: &c)
            c.applied.append(change)
        }
    }

    private static func apply(_ change: OverlayChange, to c: inout Contents) throws {
        func requireDevice(_ name: String) throws {
            guard c.state.devices[name] != nil else { throw Refused(description: "no device \(name)") }
        }
        switch change {
        case .createDevice(let d):
            guard c.state.devices[d.name] == nil, !c.foreignLinks.contains(d.name) else {
                throw Refused(description: "link \(d.name) exists")
            }
            c.state.devices[d.name] = d
        case .deleteDevice(let d):
            try requireDevice(d.name)
            c.state.devices[d.name] = nil
            c.state.addresses[d.name] = nil
            c.state.neighbours = c.state.neighbours.filter { $0.device != d.name }
            c.state.fdb = c.state.fdb.filter { $0.device != d.name }
            c.state.routes = c.state.routes.filter { $0.value.device != d.name }
        case .setMTU(let name, let mtu):
            try requireDevice(name)
            c.state.devices[name]?.mtu = mtu
        case .setUp(let name):
            try requireDevice(name)
            c.state.devices[name]?.isUp = true
        case .addAddress(let name, let prefix):
            try requireDevice(name)
            guard c.state.addresses[name, default: []].insert(prefix).inserted else {
                throw Refused(description: "address \(prefix) exists")
            }
        case .deleteAddress(let name, let prefix):
            guard c.state.addresses[name]?.remove(prefix) != nil else {
                throw Refused(description: "no address \(prefix)")
            }
        case .setFDB(let e):
            try requireDevice(e.device)
            c.state.fdb = c.state.fdb.filter { $0.device != e.device || $0.mac != e.mac }
            c.state.fdb.insert(e)
        case .deleteFDB(let e):
            guard c.state.fdb.remove(e) != nil else { throw Refused(description: "no fdb \(e)") }
        case .setNeighbour(let n):
            try requireDevice(n.device)
            c.state.neighbours = c.state.neighbours.filter { $0.device != n.device || $0.address != n.address }
            c.state.neighbours.insert(n)
        case .deleteNeighbour(let n):
            guard c.state.neighbours.remove(n) != nil else { throw Refused(description: "no neighbour \(n)") }
        case .addRoute(let r):
            if let device = r.device { try requireDevice(device) }
            guard c.state.routes[r.destination] == nil, !c.foreignRoutes.contains(r.destination) else {
                throw Refused(description: "route \(r.destination) exists")
            }
            c.state.routes[r.destination] = r
        case .replaceRoute(let r):
            if let device = r.device { try requireDevice(device) }
            guard c.state.routes[r.destination] != nil else { throw Refused(description: "no route to replace") }
            c.state.routes[r.destination] = r
        case .deleteRoute(let r):
            guard c.state.routes.removeValue(forKey: r.destination) != nil else {
                throw Refused(description: "no route \(r.destination)")
            }
        }
    }
}
