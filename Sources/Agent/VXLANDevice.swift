import WeftNet

/// A VXLAN device of the overlay, as wanted or as found in the kernel.
public struct VXLANDevice: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var vni: UInt32
    public var port: UInt16
    /// The local underlay address (this node's InternalIP of the device's family).
    public var local: IPAddress?
    /// The VTEP MAC: peers' FDB and neighbour entries point at it.
    public var mac: MACAddress?
    public var mtu: Int
    public var isUp: Bool

    public init(
        name: String, vni: UInt32, port: UInt16, local: IPAddress?, mac: MACAddress?, mtu: Int, isUp: Bool = true
    ) {
        self.name = name
        self.vni = vni
        self.port = port
        self.local = local
        self.mac = mac
        self.mtu = mtu
        self.isUp = isUp
    }

    /// Whether `other` can become this device by changing its MTU or state only; otherwise it is recreated
    /// (the kernel cannot change a VXLAN device's VNI, port or local address in place).
    public func isCompatible(with other: VXLANDevice) -> Bool {
        name == other.name && vni == other.vni && port == other.port && local == other.local && mac == other.mac
    }

    public var description: String {
        "\(name) vxlan id \(vni) dstport \(port) local \(local.map(\.description) ?? "-") "
            + "address \(mac.map(\.description) ?? "-") mtu \(mtu)\(isUp ? " up" : " down")"
    }
}
