import WeftNet

/// An ARP or NDP neighbour entry (`RTM_NEWNEIGH`, family `AF_INET`/`AF_INET6`).
public struct Neighbour: Sendable, Hashable, CustomStringConvertible {
    /// Interface index.
    public var index: Int32
    /// The neighbour's IP address.
    public var address: IPAddress
    /// Its hardware address (`NDA_LLADDR`); nil for incomplete or failed entries.
    public var mac: MACAddress?
    /// `ndm_state`: a `NUD_*` bit set, e.g. ``permanent``.
    public var state: UInt16

    public init(index: Int32, address: IPAddress, mac: MACAddress?, state: UInt16 = Neighbour.permanent) {
        self.index = index
        self.address = address
        self.mac = mac
        self.state = state
    }

    public static let incomplete: UInt16 = 0x01
    public static let reachable: UInt16 = 0x02
    public static let stale: UInt16 = 0x04
    public static let delay: UInt16 = 0x08
    public static let probe: UInt16 = 0x10
    public static let failed: UInt16 = 0x20
    public static let noARP: UInt16 = 0x40
    public static let permanent: UInt16 = 0x80

    public var description: String {
        "\(address) dev \(index) lladdr \(mac.map(\.description) ?? "-") state 0x\(String(state, radix: 16))"
    }
}

/// A bridge or VXLAN forwarding database entry (`RTM_NEWNEIGH`, family `AF_BRIDGE`), as `bridge fdb` shows.
public struct FDBEntry: Sendable, Hashable, CustomStringConvertible {
    /// The port (bridge port or VXLAN device) the entry belongs to.
    public var index: Int32
    public var mac: MACAddress
    /// For VXLAN: the remote VTEP (`NDA_DST`).
    public var destination: IPAddress?
    /// `NDA_VLAN`.
    public var vlan: UInt16?
    /// `NTF_SELF` (the device's own table, e.g. the VXLAN device's) rather than `NTF_MASTER` (the bridge's).
    public var isSelf: Bool
    /// `NUD_PERMANENT`. On a bridge (`NTF_MASTER`) a permanent entry is a local address of the bridge, as with
    /// `bridge fdb add … permanent`; a non-permanent one is sent as `static` (`NUD_NOARP`) and does not age out.
    /// On a VXLAN device permanent entries are the norm.
    public var permanent: Bool

    public init(
        index: Int32, mac: MACAddress, destination: IPAddress? = nil, vlan: UInt16? = nil, isSelf: Bool,
        permanent: Bool
    ) {
        self.index = index
        self.mac = mac
        self.destination = destination
        self.vlan = vlan
        self.isSelf = isSelf
        self.permanent = permanent
    }

    public var description: String {
        var text = "\(mac) dev \(index)"
        if let vlan { text += " vlan \(vlan)" }
        if let destination { text += " dst \(destination)" }
        text += isSelf ? " self" : " master"
        if permanent { text += " permanent" }
        return text
    }
}
