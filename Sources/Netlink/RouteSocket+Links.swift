import CWeftLinux
import Glibc
import WeftNet

extension RouteSocket {
    private static let iffUp: UInt32 = 0x1
    private static let iffPromisc: UInt32 = 0x100
    private static let familyBridge: UInt8 = 7  // AF_BRIDGE / PF_BRIDGE
    private static let filterSkipStats: UInt32 = 1 << 3  // RTEXT_FILTER_SKIP_STATS

    static func linkMessage(
        _ type: Int, flags: Int32 = 0, family: UInt8 = 0, index: Int32 = 0, ifFlags: UInt32 = 0, change: UInt32 = 0
    ) -> MessageBuilder {
        var m = MessageBuilder(type: UInt16(type), flags: UInt16(flags))
        var info = ifinfomsg()
        info.ifi_family = family
        info.ifi_index = index
        info.ifi_flags = ifFlags
        info.ifi_change = change
        m.append(raw: info)
        return m
    }

    // MARK: Reading

    /// All links of the socket's namespace.
    public func links() throws -> [Link] {
        var m = Self.linkMessage(Int(RTM_GETLINK))
        m.attribute(Int(IFLA_EXT_MASK), u32: Self.filterSkipStats)
        return try dump(m, { "RTM_GETLINK dump" }).compactMap(Self.parseLink)
    }

    /// The link called `named`, or nil if there is none (`ENODEV`).
    public func link(named name: String) throws -> Link? {
        var m = Self.linkMessage(Int(RTM_GETLINK))
        m.attribute(Int(IFLA_EXT_MASK), u32: Self.filterSkipStats)
        m.attribute(Int(IFLA_IFNAME), string: name)
        return try singleLink(m, { "RTM_GETLINK \(name)" })
    }

    /// The link with index `index`, or nil if there is none (`ENODEV`).
    public func link(index: Int32) throws -> Link? {
        var m = Self.linkMessage(Int(RTM_GETLINK), index: index)
        m.attribute(Int(IFLA_EXT_MASK), u32: Self.filterSkipStats)
        return try singleLink(m, { "RTM_GETLINK ifindex \(index)" })
    }

    private func singleLink(_ m: MessageBuilder, _ operation: () -> String) throws -> Link? {
        do {
            return try request(m, operation).lazy.compactMap(Self.parseLink).first
        } catch let error as NetlinkError where error.errno == ENODEV {
            return nil
        }
    }

    static func parseLink(_ message: NetlinkMessage) -> Link? {
        guard Int(message.type) == Int(RTM_NEWLINK), let info = loadStruct(message.payload, as: ifinfomsg.self) else {
            return nil
        }
        let a = Attributes(after: ifinfomsg.self, in: message.payload)
        var link = Link(
            index: info.ifi_index, name: a.string(Int(IFLA_IFNAME)) ?? "", mtu: Int(a.u32(Int(IFLA_MTU)) ?? 0),
            isUp: info.ifi_flags & iffUp != 0, flags: info.ifi_flags)
        if let mac = a[Int(IFLA_ADDRESS)], mac.count == 6 { link.mac = MACAddress(bytes: mac) }
        if let master = a.i32(Int(IFLA_MASTER)), master != 0 { link.masterIndex = master }
        link.linkNetNSID = a.i32(Int(IFLA_LINK_NETNSID))
        link.alias = a.string(Int(IFLA_IFALIAS))
        if let linkInfo = a.nested(Int(IFLA_LINKINFO)) {
            link.kind = linkInfo.string(Int(IFLA_INFO_KIND))
            link.slaveKind = linkInfo.string(Int(IFLA_INFO_SLAVE_KIND))
            if let data = linkInfo.nested(Int(IFLA_INFO_DATA)) {
                switch link.kind {
                case "bridge": link.bridgeVLANFiltering = data.u8(Int(IFLA_BR_VLAN_FILTERING)).map { $0 != 0 }
                case "vxlan":
                    link.vxlanID = data.u32(Int(IFLA_VXLAN_ID))
                    link.vxlanLocal = (data[Int(IFLA_VXLAN_LOCAL)] ?? data[Int(IFLA_VXLAN_LOCAL6)]).flatMap {
                        IPAddress(bytes: $0)
                    }
                    link.vxlanPort = data.u16(Int(IFLA_VXLAN_PORT)).map { UInt16(bigEndian: $0) }
                default: break
                }
            }
            if link.slaveKind == "bridge", let data = linkInfo.nested(Int(IFLA_INFO_SLAVE_DATA)) {
                link.bridgePortHairpin = data.u8(Int(IFLA_BRPORT_MODE)).map { $0 != 0 }
            }
        }
        // The kernel leaves IFLA_LINK out when it equals the link's own index, even for a veth whose peer has the
        // same index in another namespace; for a veth a missing IFLA_LINK therefore means "same index".
        let iflink = a.i32(Int(IFLA_LINK))
        if link.kind == "veth" {
            let peer = iflink ?? info.ifi_index
            link.peerIndex = peer == 0 ? nil : peer
        } else if let iflink, iflink != 0, iflink != info.ifi_index {
            link.peerIndex = iflink
        }
        return link
    }

    // MARK: Creating and deleting

    private static var createFlags: Int32 { NLM_F_CREATE | NLM_F_EXCL }

    /// Creates a veth pair. The peer is created directly in `peerNetNS` (`IFLA_NET_NS_FD` inside
    /// `VETH_INFO_PEER`), so it never appears in this namespace. `mtu` applies to both ends.
    public func addVeth(
        name: String, peerName: String, peerNetNS: NetNS? = nil, mtu: Int? = nil, mac: MACAddress? = nil,
        peerMAC: MACAddress? = nil
    ) throws {
        var m = Self.linkMessage(Int(RTM_NEWLINK), flags: Self.createFlags)
        m.attribute(Int(IFLA_IFNAME), string: name)
        if let mtu { m.attribute(Int(IFLA_MTU), u32: UInt32(mtu)) }
        if let mac { m.attribute(Int(IFLA_ADDRESS), bytes: mac.bytes) }
        m.nested(Int(IFLA_LINKINFO)) { info in
            info.attribute(Int(IFLA_INFO_KIND), string: "veth")
            info.nested(Int(IFLA_INFO_DATA)) { data in
                data.nested(Int(VETH_INFO_PEER)) { peer in
                    peer.append(raw: ifinfomsg())
                    peer.attribute(Int(IFLA_IFNAME), string: peerName)
                    if let peerNetNS { peer.attribute(Int(IFLA_NET_NS_FD), u32: UInt32(bitPattern: peerNetNS.fd)) }
                    if let mtu { peer.attribute(Int(IFLA_MTU), u32: UInt32(mtu)) }
                    if let peerMAC { peer.attribute(Int(IFLA_ADDRESS), bytes: peerMAC.bytes) }
                }
            }
        }
        try request(m, { "RTM_NEWLINK veth \(name) peer \(peerName)" })
    }

    /// Creates a macvlan device on `parentIndex` (a link of this namespace) in bridge mode, where macvlans of one
    /// parent reach each other directly without going through the parent, created in `netns` when given.
    public func addMacvlanBridge(name: String, parentIndex: Int32, netns: NetNS? = nil) throws {
        var m = Self.linkMessage(Int(RTM_NEWLINK), flags: Self.createFlags)
        m.attribute(Int(IFLA_IFNAME), string: name)
        m.attribute(Int(IFLA_LINK), u32: UInt32(bitPattern: parentIndex))
        if let netns { m.attribute(Int(IFLA_NET_NS_FD), u32: UInt32(bitPattern: netns.fd)) }
        m.nested(Int(IFLA_LINKINFO)) { info in
            info.attribute(Int(IFLA_INFO_KIND), string: "macvlan")
            info.nested(Int(IFLA_INFO_DATA)) { data in
                data.attribute(Int(IFLA_MACVLAN_MODE), u32: UInt32(MACVLAN_MODE_BRIDGE.rawValue))
            }
        }
        try request(m, { "RTM_NEWLINK macvlan \(name) on ifindex \(parentIndex)" })
    }

    /// Creates a bridge.
    public func addBridge(name: String, mtu: Int? = nil, mac: MACAddress? = nil, vlanFiltering: Bool = false) throws {
        var m = Self.linkMessage(Int(RTM_NEWLINK), flags: Self.createFlags)
        m.attribute(Int(IFLA_IFNAME), string: name)
        if let mtu { m.attribute(Int(IFLA_MTU), u32: UInt32(mtu)) }
        if let mac { m.attribute(Int(IFLA_ADDRESS), bytes: mac.bytes) }
        m.nested(Int(IFLA_LINKINFO)) { info in
            info.attribute(Int(IFLA_INFO_KIND), string: "bridge")
            // Only when asked: kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse the attribute even when it is 0.
            if vlanFiltering {
                info.nested(Int(IFLA_INFO_DATA)) { data in
                    data.attribute(Int(IFLA_BR_VLAN_FILTERING), u8: 1)
                }
            }
        }
        try request(m, { "RTM_NEWLINK bridge \(name)" })
    }

    /// Creates a VXLAN device with VNI `vni` on UDP `port` (4789 is the IANA port), optionally bound to a local
    /// address and an underlay interface. `learning: false` is usual when the FDB is programmed explicitly.
    public func addVXLAN(
        name: String, vni: UInt32, local: IPAddress? = nil, port: UInt16 = 4789, underlayIndex: Int32? = nil,
        learning: Bool = false, mtu: Int? = nil
    ) throws {
        var m = Self.linkMessage(Int(RTM_NEWLINK), flags: Self.createFlags)
        m.attribute(Int(IFLA_IFNAME), string: name)
        if let mtu { m.attribute(Int(IFLA_MTU), u32: UInt32(mtu)) }
        m.nested(Int(IFLA_LINKINFO)) { info in
            info.attribute(Int(IFLA_INFO_KIND), string: "vxlan")
            info.nested(Int(IFLA_INFO_DATA)) { data in
                data.attribute(Int(IFLA_VXLAN_ID), u32: vni)
                switch local {
                case .v4(let a)?: data.attribute(Int(IFLA_VXLAN_LOCAL), bytes: a.bytes)
                case .v6(let a)?: data.attribute(Int(IFLA_VXLAN_LOCAL6), bytes: a.bytes)
                case nil: break
                }
                if let underlayIndex { data.attribute(Int(IFLA_VXLAN_LINK), u32: UInt32(bitPattern: underlayIndex)) }
                data.attribute(Int(IFLA_VXLAN_PORT), be16: port)
                data.attribute(Int(IFLA_VXLAN_LEARNING), u8: learning ? 1 : 0)
            }
        }
        try request(m, { "RTM_NEWLINK vxlan \(name) id \(vni)" })
    }

    /// Deletes a link (for a veth, both ends). Fails with `ENODEV` if it does not exist.
    public func deleteLink(index: Int32) throws {
        try request(Self.linkMessage(Int(RTM_DELLINK), index: index), { "RTM_DELLINK ifindex \(index)" })
    }

    // MARK: Changing

    private func setLink(
        index: Int32, _ what: String, flags: UInt32 = 0, change: UInt32 = 0,
        _ attributes: (inout MessageBuilder) -> Void = { _ in }
    ) throws {
        var m = Self.linkMessage(Int(RTM_SETLINK), index: index, ifFlags: flags, change: change)
        attributes(&m)
        try request(m, { "RTM_SETLINK ifindex \(index) \(what)" })
    }

    /// Sets the link administratively up.
    public func setUp(index: Int32) throws {
        try setLink(index: index, "up", flags: Self.iffUp, change: Self.iffUp)
    }

    /// Sets the link administratively down.
    public func setDown(index: Int32) throws {
        try setLink(index: index, "down", flags: 0, change: Self.iffUp)
    }

    public func setMTU(index: Int32, mtu: Int) throws {
        try setLink(index: index, "mtu \(mtu)") { $0.attribute(Int(IFLA_MTU), u32: UInt32(mtu)) }
    }

    /// Sets the interface alias (`ip link set … alias TEXT`); an empty text removes it.
    public func setAlias(index: Int32, alias: String) throws {
        try setLink(index: index, "alias \(alias)") { $0.attribute(Int(IFLA_IFALIAS), bytes: Array(alias.utf8)) }
    }

    public func setMAC(index: Int32, mac: MACAddress) throws {
        try setLink(index: index, "address \(mac)") { $0.attribute(Int(IFLA_ADDRESS), bytes: mac.bytes) }
    }

    /// Enslaves the link to `master` (a bridge), or releases it when `master` is nil (`nomaster`).
    public func setMaster(index: Int32, master: Int32?) throws {
        let what = master.map { "master \($0)" } ?? "nomaster"
        try setLink(index: index, what) { $0.attribute(Int(IFLA_MASTER), u32: UInt32(bitPattern: master ?? 0)) }
    }

    /// Renames the link; the kernel refuses (`EBUSY`) while it is up.
    public func rename(index: Int32, to name: String) throws {
        try setLink(index: index, "name \(name)") { $0.attribute(Int(IFLA_IFNAME), string: name) }
    }

    /// Moves the link into `netns`; it keeps its name and gets a new index there.
    public func moveToNetNS(index: Int32, netns: NetNS) throws {
        try setLink(index: index, "netns \(netns.path)") {
            $0.attribute(Int(IFLA_NET_NS_FD), u32: UInt32(bitPattern: netns.fd))
        }
    }

    public func setPromiscuous(index: Int32, on: Bool) throws {
        try setLink(
            index: index, on ? "promisc on" : "promisc off", flags: on ? Self.iffPromisc : 0,
            change: Self.iffPromisc)
    }

    /// Turns hairpin mode of a bridge port on or off (`IFLA_BRPORT_MODE` in `IFLA_PROTINFO`), so frames may be
    /// sent back out of the port they came in on.
    public func setBridgePortHairpin(index: Int32, on: Bool) throws {
        var m = Self.linkMessage(Int(RTM_SETLINK), family: Self.familyBridge, index: index)
        m.nested(Int(IFLA_PROTINFO)) { $0.attribute(Int(IFLA_BRPORT_MODE), u8: on ? 1 : 0) }
        try request(m, { "RTM_SETLINK bridge port ifindex \(index) hairpin \(on ? "on" : "off")" })
    }

    /// Turns VLAN filtering of a bridge on or off.
    public func setBridgeVLANFiltering(index: Int32, on: Bool) throws {
        var m = Self.linkMessage(Int(RTM_NEWLINK), index: index)
        m.nested(Int(IFLA_LINKINFO)) { info in
            info.attribute(Int(IFLA_INFO_KIND), string: "bridge")
            info.nested(Int(IFLA_INFO_DATA)) { $0.attribute(Int(IFLA_BR_VLAN_FILTERING), u8: on ? 1 : 0) }
        }
        try request(m, { "RTM_NEWLINK bridge ifindex \(index) vlan_filtering \(on ? 1 : 0)" })
    }

    /// Adds VLAN `vid` to a bridge port (or to the bridge itself with `onSelf`), like
    /// `bridge vlan add dev X vid N [pvid] [untagged] [self]`.
    public func addBridgeVLAN(index: Int32, vid: UInt16, pvid: Bool, untagged: Bool, onSelf: Bool = false) throws {
        try bridgeVLAN(Int(RTM_SETLINK), "add", index: index, vid: vid, pvid: pvid, untagged: untagged, onSelf: onSelf)
    }

    /// Removes VLAN `vid` from a bridge port (or the bridge itself with `onSelf`), like `bridge vlan del`.
    public func deleteBridgeVLAN(index: Int32, vid: UInt16, onSelf: Bool = false) throws {
        try bridgeVLAN(Int(RTM_DELLINK), "del", index: index, vid: vid, pvid: false, untagged: false, onSelf: onSelf)
    }

    private func bridgeVLAN(
        _ type: Int, _ verb: String, index: Int32, vid: UInt16, pvid: Bool, untagged: Bool, onSelf: Bool
    ) throws {
        var m = Self.linkMessage(type, family: Self.familyBridge, index: index)
        m.nested(Int(IFLA_AF_SPEC)) { spec in
            if onSelf { spec.attribute(Int(IFLA_BRIDGE_FLAGS), u16: UInt16(BRIDGE_FLAGS_SELF)) }
            var info = bridge_vlan_info()
            info.vid = vid
            if pvid { info.flags |= UInt16(BRIDGE_VLAN_INFO_PVID) }
            if untagged { info.flags |= UInt16(BRIDGE_VLAN_INFO_UNTAGGED) }
            spec.attribute(Int(IFLA_BRIDGE_VLAN_INFO), raw: info)
        }
        let op = type == Int(RTM_SETLINK) ? "RTM_SETLINK" : "RTM_DELLINK"
        try request(m, { "\(op) bridge vlan \(verb) ifindex \(index) vid \(vid)\(onSelf ? " self" : "")" })
    }

    /// The VLANs of a bridge port or bridge (`bridge vlan show dev X`).
    public func bridgeVLANs(index: Int32) throws -> [BridgeVLAN] {
        var m = Self.linkMessage(Int(RTM_GETLINK), family: Self.familyBridge)
        m.attribute(Int(IFLA_EXT_MASK), u32: UInt32(RTEXT_FILTER_BRVLAN))
        var out: [BridgeVLAN] = []
        for message in try dump(m, { "RTM_GETLINK bridge vlan dump" }) {
            guard Int(message.type) == Int(RTM_NEWLINK), let info = loadStruct(message.payload, as: ifinfomsg.self),
                info.ifi_index == index
            else { continue }
            let a = Attributes(after: ifinfomsg.self, in: message.payload)
            guard let spec = a.nested(Int(IFLA_AF_SPEC)) else { continue }
            for raw in spec.all(Int(IFLA_BRIDGE_VLAN_INFO)) {
                guard let v = loadStruct(raw, as: bridge_vlan_info.self) else { continue }
                out.append(
                    BridgeVLAN(
                        vid: v.vid, pvid: v.flags & UInt16(BRIDGE_VLAN_INFO_PVID) != 0,
                        untagged: v.flags & UInt16(BRIDGE_VLAN_INFO_UNTAGGED) != 0))
            }
        }
        return out
    }
}
