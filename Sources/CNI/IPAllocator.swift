import WeftNet

/// An address handed out by IPAM, with the subnet's prefix length and the range's gateway.
public struct AllocatedIP: Sendable, Hashable {
    public var address: IPPrefix
    public var gateway: IPAddress?
    public var rangeSet: Int
}

/// host-local's allocation rules over an `IPAMStore`: one address per range set, round-robin from the last
/// reserved address, skipping gateways and taken addresses; explicit requests honoured; an attachment that already
/// holds an address in a set gets the same one again. Call with the store locked.
public struct IPAllocator {
    public let config: IPAMConfig
    public let store: IPAMStore

    public init(config: IPAMConfig, store: IPAMStore) {
        self.config = config
        self.store = store
    }

    /// The range (and its set) that contains `ip`.
    public func range(containing ip: IPAddress) -> (set: Int, range: IPRange)? {
        for (i, set) in config.rangeSets.enumerated() {
            if let r = set.first(where: { $0.contains(ip) }) { return (i, r) }
        }
        return nil
    }

    public func allocate(containerID: String, ifname: String, requested: [IPAddress]) throws -> [AllocatedIP] {
        var bySet: [Int: IPAddress] = [:]
        for ip in requested {
            guard let (set, _) = range(containing: ip) else {
                throw CNIError(.addressUnavailable, "ipam: requested address \(ip) is in no configured range")
            }
            guard bySet[set] == nil else {
                throw CNIError(
                    .invalidConfig, "ipam: two requested addresses (\(bySet[set]!), \(ip)) fall in one range set")
            }
            bySet[set] = ip
        }
        let existing = store.reservations(containerID: containerID, ifname: ifname)
        var made: [IPAddress] = []
        var result: [AllocatedIP] = []
        do {
            for (i, set) in config.rangeSets.enumerated() {
                let ip: IPAddress
                if let want = bySet[i] {
                    if !existing.contains(want) {
                        guard try store.reserve(want, containerID: containerID, ifname: ifname, rangeSet: i) else {
                            throw CNIError(.addressUnavailable, "ipam: requested address \(want) is already allocated")
                        }
                        made.append(want)
                    }
                    ip = want
                } else if let have = existing.first(where: { a in set.contains { $0.contains(a) } }) {
                    ip = have
                } else {
                    ip = try next(in: set, index: i, containerID: containerID, ifname: ifname)
                    made.append(ip)
                }
                let r = set.first { $0.contains(ip) }!
                result.append(
                    AllocatedIP(
                        address: IPPrefix(address: ip, length: r.subnet.length), gateway: r.gateway, rangeSet: i))
            }
        } catch {
            for ip in made { store.release(ip) }
            throw error
        }
        return result
    }

    /// Round-robin: the first free address after the set's last reservation, wrapping once around all its ranges.
    private func next(in set: [IPRange], index: Int, containerID: String, ifname: String) throws -> IPAddress {
        var rangeIndex = 0
        var candidate = set[0].rangeStart
        if let last = store.lastReserved(rangeSet: index), let ri = set.firstIndex(where: { $0.contains(last) }) {
            rangeIndex = ri
            candidate = last
            (rangeIndex, candidate) = step(set, rangeIndex, candidate)
        }
        let total = set.reduce(UInt128(0)) { $0 &+ $1.count }
        var tried: UInt128 = 0
        while tried < total {
            let r = set[rangeIndex]
            if candidate != r.gateway, !store.isReserved(candidate),
                try store.reserve(candidate, containerID: containerID, ifname: ifname, rangeSet: index)
            {
                return candidate
            }
            (rangeIndex, candidate) = step(set, rangeIndex, candidate)
            tried += 1
        }
        let ranges = set.map { "\($0.rangeStart)-\($0.rangeEnd)" }.joined(separator: ", ")
        throw CNIError(
            .addressUnavailable, "ipam: no addresses left in range set \(ranges) of network \(store.directory)")
    }

    private func step(_ set: [IPRange], _ ri: Int, _ ip: IPAddress) -> (Int, IPAddress) {
        if ip < set[ri].rangeEnd { return (ri, ip.advanced(by: 1)) }
        let n = (ri + 1) % set.count
        return (n, set[n].rangeStart)
    }
}
