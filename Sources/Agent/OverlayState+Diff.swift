import WeftNet

extension OverlayState {
    /// The changes that turn this (current) state into `desired`, in an order the kernel accepts: stale routes,
    /// neighbours and FDB entries go first, then stale devices; devices are created or adjusted before their
    /// addresses, FDB and neighbour entries, and routes come last (so the kernel never resolves a gateway that
    /// has no neighbour entry yet). Equal parts produce no change; entries of a device that is deleted or
    /// recreated are not deleted one by one, as the kernel removes them with the device.
    public func changes(to desired: OverlayState) -> [OverlayChange] {
        var out: [OverlayChange] = []
        // Devices that go away (stale or incompatible): everything on them goes with them.
        let doomed = Set(
            devices.values.filter { current in
                guard let wanted = desired.devices[current.name] else { return true }
                return !wanted.isCompatible(with: current)
            }.map(\.name))
        func survives(_ device: String?) -> Bool { device.map { !doomed.contains($0) } ?? true }
        let routes = self.routes.filter { survives($0.value.device) }
        let neighbours = self.neighbours.filter { survives($0.device) }
        let fdb = self.fdb.filter { survives($0.device) }

        for (destination, route) in routes.sorted(by: { $0.key.description < $1.key.description })
        where desired.routes[destination] == nil {
            out.append(.deleteRoute(route))
        }
        let wantedNeighbours = Set(desired.neighbours.map(NeighbourKey.init))
        for n in neighbours.sorted(by: Self.order) where !wantedNeighbours.contains(NeighbourKey(n)) {
            out.append(.deleteNeighbour(n))
        }
        let wantedFDB = Set(desired.fdb.map(FDBKey.init))
        for e in fdb.sorted(by: Self.order) where !wantedFDB.contains(FDBKey(e)) {
            out.append(.deleteFDB(e))
        }
        for device in devices.values.sorted(by: { $0.name < $1.name }) where doomed.contains(device.name) {
            out.append(.deleteDevice(device))
        }

        for (name, wanted) in desired.devices.sorted(by: { $0.key < $1.key }) {
            var currentAddresses: Set<IPPrefix> = []
            if let current = devices[name], !doomed.contains(name) {
                if current.mtu != wanted.mtu { out.append(.setMTU(device: name, mtu: wanted.mtu)) }
                if wanted.isUp && !current.isUp { out.append(.setUp(device: name)) }
                currentAddresses = addresses[name] ?? []
            } else {
                out.append(.createDevice(wanted))
            }
            let wantedAddresses = desired.addresses[name] ?? []
            for prefix in currentAddresses.subtracting(wantedAddresses).sorted(by: Self.order) {
                out.append(.deleteAddress(device: name, prefix))
            }
            for prefix in wantedAddresses.subtracting(currentAddresses).sorted(by: Self.order) {
                out.append(.addAddress(device: name, prefix))
            }
        }

        for e in desired.fdb.sorted(by: Self.order) where !fdb.contains(e) { out.append(.setFDB(e)) }
        for n in desired.neighbours.sorted(by: Self.order) where !neighbours.contains(n) {
            out.append(.setNeighbour(n))
        }
        for (destination, wanted) in desired.routes.sorted(by: { $0.key.description < $1.key.description }) {
            switch routes[destination] {
            case nil: out.append(.addRoute(wanted))
            case let current? where current != wanted: out.append(.replaceRoute(wanted))
            default: break
            }
        }
        return out
    }

    /// Neighbour entries are unique per device and address; the MAC is what may change.
    private struct NeighbourKey: Hashable {
        var device: String
        var address: IPAddress
        init(_ n: OverlayNeighbour) {
            device = n.device
            address = n.address
        }
    }

    /// VXLAN FDB entries are unique per device and MAC; the destination is what may change.
    private struct FDBKey: Hashable {
        var device: String
        var mac: MACAddress
        init(_ e: OverlayFDBEntry) {
            device = e.device
            mac = e.mac
        }
    }

    private static func order(_ a: some CustomStringConvertible, _ b: some CustomStringConvertible) -> Bool {
        a.description < b.description
    }
}
