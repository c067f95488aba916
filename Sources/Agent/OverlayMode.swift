/// How `weft agent` carries pod traffic between nodes.
public enum OverlayMode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A VXLAN tunnel per IP family: any underlay that routes the nodes' InternalIPs will do.
    case vxlan
    /// Plain routes via the peer node's InternalIP: every node must be on the same L2 underlay.
    case hostGW = "host-gw"

    public var description: String { rawValue }
}
