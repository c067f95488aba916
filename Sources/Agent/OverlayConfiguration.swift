import WeftNet

/// What the overlay is, apart from the nodes: the mode and the VXLAN parameters, plus the marks by which the
/// agent recognises what it owns in the kernel.
public struct OverlayConfiguration: Sendable, Hashable {
    public var mode: OverlayMode
    /// The VXLAN network identifier of both devices.
    public var vni: UInt32
    /// The VXLAN UDP port of both devices.
    public var port: UInt16

    /// VNI 1, as flannel's default.
    public static let defaultVNI: UInt32 = 1
    /// 8472, the Linux kernel's historical VXLAN port (flannel and Cilium use it too), rather than IANA's 4789: a
    /// node's own VXLAN or EVPN set-up is more likely to hold 4789 with the same VNI.
    public static let defaultPort: UInt16 = 8472

    public init(mode: OverlayMode, vni: UInt32 = defaultVNI, port: UInt16 = defaultPort) {
        self.mode = mode
        self.vni = vni
        self.port = port
    }

    /// The interface alias of every link the agent creates; it deletes or changes only links that carry it.
    public static let linkAlias = "weft-agent"
    /// The routing protocol number (`rtm_protocol`, `ip route … proto 87`) of every route the agent installs;
    /// it deletes or replaces only routes that carry it. 87 is ASCII `W` and unassigned in iproute2's
    /// `rt_protos`.
    public static let routeProtocol: UInt8 = 87

    /// The VXLAN device for pod traffic of `family`, which travels over the underlay of the same family.
    public static func deviceName(_ family: IPFamily) -> String {
        family == .v4 ? "weft.vxlan4" : "weft.vxlan6"
    }

    /// What VXLAN adds to each packet on an underlay of `family`: the inner Ethernet header (14), the outer IP
    /// header (20 or 40), UDP (8) and VXLAN (8) bytes.
    public static func encapsulationOverhead(_ family: IPFamily) -> Int {
        family == .v4 ? 50 : 70
    }
}
