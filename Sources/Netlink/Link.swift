import WeftNet

/// A network interface as the kernel reports it (`RTM_NEWLINK`).
public struct Link: Sendable, Hashable, CustomStringConvertible {
    /// Interface index (`ifi_index`).
    public var index: Int32
    /// Interface name (`IFLA_IFNAME`).
    public var name: String
    /// Link type from `IFLA_INFO_KIND` (`veth`, `bridge`, `vxlan`, …); nil for devices without one (`lo`, physical).
    public var kind: String?
    /// `IFLA_MTU`.
    public var mtu: Int
    /// The hardware address when it is a 6-byte Ethernet address.
    public var mac: MACAddress?
    /// Administrative state (`IFF_UP`).
    public var isUp: Bool
    /// `IFLA_MASTER`: the bridge (or other master) this link is enslaved to.
    public var masterIndex: Int32?
    /// `IFLA_LINK`: for a veth, the peer's index (in the peer's namespace when ``linkNetNSID`` is set); for other
    /// stacked devices the lower link, when the kernel reports one (VXLAN does not).
    public var peerIndex: Int32?
    /// `IFLA_LINK_NETNSID`: the namespace id, as seen from this namespace, of the namespace ``peerIndex`` lives in.
    public var linkNetNSID: Int32?
    /// Raw `ifi_flags` (`IFF_UP`, `IFF_PROMISC`, `IFF_LOWER_UP`, …).
    public var flags: UInt32
    /// `IFLA_INFO_SLAVE_KIND`, e.g. `bridge` for a bridge port.
    public var slaveKind: String?
    /// For a bridge port: whether hairpin mode is on (`IFLA_BRPORT_MODE`); nil for other links.
    public var bridgePortHairpin: Bool?
    /// For a bridge: whether VLAN filtering is on (`IFLA_BR_VLAN_FILTERING`); nil for other links.
    public var bridgeVLANFiltering: Bool?
    /// For a VXLAN device: its VNI (`IFLA_VXLAN_ID`); nil for other links.
    public var vxlanID: UInt32?
    /// For a VXLAN device: its local underlay address (`IFLA_VXLAN_LOCAL` or `IFLA_VXLAN_LOCAL6`), when it has one.
    public var vxlanLocal: IPAddress?
    /// For a VXLAN device: its UDP destination port (`IFLA_VXLAN_PORT`).
    public var vxlanPort: UInt16?
    /// The interface alias (`IFLA_IFALIAS`, `ip link set … alias`); Weft marks links it owns with it.
    public var alias: String?

    public init(
        index: Int32, name: String, kind: String? = nil, mtu: Int = 1500, mac: MACAddress? = nil, isUp: Bool = false,
        masterIndex: Int32? = nil, peerIndex: Int32? = nil, linkNetNSID: Int32? = nil, flags: UInt32 = 0,
        slaveKind: String? = nil, bridgePortHairpin: Bool? = nil, bridgeVLANFiltering: Bool? = nil,
        vxlanID: UInt32? = nil
    ) {
        self.index = index
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.mac = mac
        self.isUp = isUp
        self.masterIndex = masterIndex
        self.peerIndex = peerIndex
        self.linkNetNSID = linkNetNSID
        self.flags = flags
        self.slaveKind = slaveKind
        self.bridgePortHairpin = bridgePortHairpin
        self.bridgeVLANFiltering = bridgeVLANFiltering
        self.vxlanID = vxlanID
    }

    /// Whether the interface is in promiscuous mode (`IFF_PROMISC`).
    public var isPromiscuous: Bool { flags & 0x100 != 0 }
    /// Whether the carrier is up (`IFF_LOWER_UP`).
    public var isLowerUp: Bool { flags & 0x10000 != 0 }

    public var description: String {
        var text = "\(index): \(name)"
        if let kind { text += " \(kind)" }
        text += " mtu \(mtu)"
        if let mac { text += " \(mac)" }
        text += isUp ? " up" : " down"
        if let masterIndex { text += " master \(masterIndex)" }
        return text
    }
}

/// One member of a bridge VLAN table (`bridge vlan show`).
public struct BridgeVLAN: Sendable, Hashable {
    public var vid: UInt16
    /// Untagged frames entering the port are put in this VLAN.
    public var pvid: Bool
    /// Frames leave the port untagged.
    public var untagged: Bool

    public init(vid: UInt16, pvid: Bool = false, untagged: Bool = false) {
        self.vid = vid
        self.pvid = pvid
        self.untagged = untagged
    }
}
