import CWeftLinux
import Glibc
import WeftNet

extension RouteSocket {
    private static let familyBridge: UInt8 = 7  // AF_BRIDGE
    private static let ntfSelf: UInt8 = 0x02
    private static let ntfMaster: UInt8 = 0x04

    private static func neighbourMessage(
        _ type: Int, flags: Int32, family: UInt8, index: Int32, state: UInt16, ndmFlags: UInt8
    ) -> MessageBuilder {
        var m = MessageBuilder(type: UInt16(type), flags: UInt16(flags))
        var h = ndmsg()
        h.ndm_family = family
        h.ndm_ifindex = index
        h.ndm_state = state
        h.ndm_flags = ndmFlags
        m.append(raw: h)
        return m
    }

    // MARK: ARP / NDP

    /// The ARP and NDP entries, optionally of one interface and one family.
    public func neighbours(index: Int32? = nil, family: IPFamily? = nil) throws -> [Neighbour] {
        let m = Self.neighbourMessage(
            Int(RTM_GETNEIGH), flags: 0, family: Self.familyCode(family), index: 0, state: 0, ndmFlags: 0)
        var out: [Neighbour] = []
        for message in try dump(m, { "RTM_GETNEIGH dump" }) {
            guard Int(message.type) == Int(RTM_NEWNEIGH), let h = loadStruct(message.payload, as: ndmsg.self),
                let messageFamily = Self.ipFamily(h.ndm_family)
            else { continue }
            if let index, h.ndm_ifindex != index { continue }
            if let family, family != messageFamily { continue }
            let a = Attributes(after: ndmsg.self, in: message.payload)
            guard let raw = a[Int(NDA_DST)], let address = IPAddress(bytes: raw) else { continue }
            let mac = a[Int(NDA_LLADDR)].flatMap { $0.count == 6 ? MACAddress(bytes: $0) : nil }
            out.append(Neighbour(index: h.ndm_ifindex, address: address, mac: mac, state: h.ndm_state))
        }
        return out
    }

    /// Adds a neighbour entry (`ip neigh add|replace`); without `replace` an existing entry fails with `EEXIST`.
    public func addNeighbour(_ n: Neighbour, replace: Bool = false) throws {
        var m = Self.neighbourMessage(
            Int(RTM_NEWNEIGH), flags: NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
            family: Self.familyCode(n.address.family), index: n.index, state: n.state, ndmFlags: 0)
        m.attribute(Int(NDA_DST), bytes: n.address.bytes)
        if let mac = n.mac { m.attribute(Int(NDA_LLADDR), bytes: mac.bytes) }
        try request(m, { "RTM_NEWNEIGH \(n)" })
    }

    /// Deletes the neighbour entry for `n.address` on `n.index`; fails with `ENOENT` if there is none.
    public func deleteNeighbour(_ n: Neighbour) throws {
        var m = Self.neighbourMessage(
            Int(RTM_DELNEIGH), flags: 0, family: Self.familyCode(n.address.family), index: n.index, state: 0,
            ndmFlags: 0)
        m.attribute(Int(NDA_DST), bytes: n.address.bytes)
        try request(m, { "RTM_DELNEIGH \(n.address) ifindex \(n.index)" })
    }

    // MARK: Bridge FDB

    /// The forwarding database entries (`bridge fdb show`), optionally of one port or device.
    public func fdb(index: Int32? = nil) throws -> [FDBEntry] {
        let m = Self.neighbourMessage(
            Int(RTM_GETNEIGH), flags: 0, family: Self.familyBridge, index: 0, state: 0,
            ndmFlags: 0)
        var out: [FDBEntry] = []
        for message in try dump(m, { "RTM_GETNEIGH bridge fdb dump" }) {
            guard Int(message.type) == Int(RTM_NEWNEIGH), let h = loadStruct(message.payload, as: ndmsg.self),
                h.ndm_family == Self.familyBridge
            else { continue }
            if let index, h.ndm_ifindex != index { continue }
            // Bridge entries come with NDA_MASTER and no NTF_MASTER flag; a device's own entries carry NTF_SELF.
            let a = Attributes(after: ndmsg.self, in: message.payload)
            guard let raw = a[Int(NDA_LLADDR)], let mac = MACAddress(bytes: raw) else { continue }
            out.append(
                FDBEntry(
                    index: h.ndm_ifindex, mac: mac, destination: a[Int(NDA_DST)].flatMap { IPAddress(bytes: $0) },
                    vlan: a.u16(Int(NDA_VLAN)), isSelf: h.ndm_flags & Self.ntfSelf != 0,
                    permanent: h.ndm_state & Neighbour.permanent != 0))
        }
        return out
    }

    private static func fdbMessage(_ type: Int, flags: Int32, _ e: FDBEntry) -> MessageBuilder {
        // As `bridge fdb add`: NUD_NOARP plus NUD_PERMANENT (permanent) or NUD_REACHABLE (static).
        let state = Neighbour.noARP | (e.permanent ? Neighbour.permanent : Neighbour.reachable)
        var m = neighbourMessage(
            type, flags: flags, family: familyBridge, index: e.index, state: state,
            ndmFlags: e.isSelf ? ntfSelf : ntfMaster)
        m.attribute(Int(NDA_LLADDR), bytes: e.mac.bytes)
        if let destination = e.destination { m.attribute(Int(NDA_DST), bytes: destination.bytes) }
        if let vlan = e.vlan { m.attribute(Int(NDA_VLAN), u16: vlan) }
        return m
    }

    /// Adds an FDB entry (`bridge fdb add|replace`); without `replace` an existing entry fails with `EEXIST`.
    public func addFDB(_ e: FDBEntry, replace: Bool = false) throws {
        let m = Self.fdbMessage(Int(RTM_NEWNEIGH), flags: NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), e)
        try request(m, { "RTM_NEWNEIGH fdb \(replace ? "replace " : "")\(e)" })
    }

    /// Appends an FDB entry (`bridge fdb append`): on a VXLAN device, one more remote for the same MAC, as used
    /// for the all-zeros flooding entry.
    public func appendFDB(_ e: FDBEntry) throws {
        let m = Self.fdbMessage(Int(RTM_NEWNEIGH), flags: NLM_F_CREATE | NLM_F_APPEND, e)
        try request(m, { "RTM_NEWNEIGH fdb append \(e)" })
    }

    /// Deletes an FDB entry (for VXLAN with a destination: only that remote). Fails with `ENOENT` if missing.
    public func deleteFDB(_ e: FDBEntry) throws {
        let m = Self.fdbMessage(Int(RTM_DELNEIGH), flags: 0, e)
        try request(m, { "RTM_DELNEIGH fdb \(e)" })
    }
}
