import KubeModel
import WeftNet

/// The overlay one node wants, computed from the Node objects alone: the pure core of `weft agent`.
///
/// For each IP family this node has an InternalIP of, every other node with a pod CIDR and an InternalIP of that
/// family becomes a peer:
///
/// - `host-gw`: a route to the peer's pod CIDR via the peer's InternalIP (all nodes share an L2 underlay).
/// - `vxlan` (flannel's design, without its annotations): one VXLAN device per family, `weft.vxlan4` on the IPv4
///   underlay for IPv4 pods and `weft.vxlan6` on the IPv6 underlay for IPv6 pods, learning off, MTU = underlay
///   MTU − 50 (IPv4) or − 70 (IPv6), MAC ``WeftNet/MACAddress/vtep(underlay:)``, and as its address the network
///   address of this node's pod CIDR (/32 or /128: a source address for node-to-pod traffic that peers route
///   back). Per peer: an FDB entry (peer's VTEP MAC → peer's InternalIP), a permanent neighbour entry (peer's
///   gateway, the network address of its pod CIDR → peer's VTEP MAC) and a route to the pod CIDR via that
///   gateway, on-link on the device. No ARP, NDP or learning is ever needed.
///
/// One device per family rather than one dual-stack device: each family's pods travel over the same family's
/// underlay, so the MTU is exact for each (−50 and −70), an IPv4-only or IPv6-only underlay needs no special
/// case, and the kernel accepts both devices with the same VNI and port (they differ in address family). The
/// cost, as with flannel and Calico, is that a family is routed only between nodes that both have an InternalIP of
/// that family.
///
/// What cannot be programmed is listed in ``skipped`` with the reason; nodes are taken in name order, so the
/// plan is the same whatever order the Node objects come in.
public struct OverlayPlan: Sendable, Hashable {
    /// The desired kernel state.
    public var state: OverlayState
    /// The peer nodes with at least one route, by name.
    public var peers: Set<String>
    /// What was left out, and why.
    public var skipped: [Skip]

    /// Something the plan leaves out.
    public struct Skip: Sendable, Hashable, CustomStringConvertible {
        public var node: String
        public var family: IPFamily?
        public var reason: Reason

        public init(node: String, family: IPFamily?, reason: Reason) {
            self.node = node
            self.family = family
            self.reason = reason
        }

        public var description: String {
            "node \(node)\(family.map { " IPv\($0.rawValue)" } ?? ""): \(reason)"
        }
    }

    /// Why something is left out.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// This node has no Node object (yet).
        case localNodeMissing
        /// The peer has no pod CIDR of the family.
        case noPodCIDR
        /// The peer has a pod CIDR of the family but no InternalIP of it.
        case noInternalIP
        /// This node has no InternalIP of the family, which peers' pod CIDRs of the family need.
        case noLocalInternalIP
        /// No interface of this node holds its InternalIP, so the VXLAN device's MTU is unknown.
        case underlayInterfaceNotFound(IPAddress)
        /// The peer's pod CIDR overlaps this node's.
        case overlapsLocalPodCIDR(IPPrefix)
        /// The peer's pod CIDR overlaps that of a peer earlier in name order.
        case overlapsPeer(String, IPPrefix)

        public var description: String {
            switch self {
            case .localNodeMissing: "no Node object for this node"
            case .noPodCIDR: "no pod CIDR"
            case .noInternalIP: "no InternalIP"
            case .noLocalInternalIP: "this node has no InternalIP of the family"
            case .underlayInterfaceNotFound(let address): "no interface of this node has its InternalIP \(address)"
            case .overlapsLocalPodCIDR(let prefix): "pod CIDR overlaps this node's \(prefix)"
            case .overlapsPeer(let peer, let prefix): "pod CIDR overlaps \(prefix) of node \(peer)"
            }
        }
    }

    /// Plans the overlay of node `nodeName`.
    ///
    /// - Parameters:
    ///   - nodes: every Node, this one included.
    ///   - underlayMTU: for vxlan, the MTU of the interface holding this node's InternalIP, by family (the kernel
    ///     edge looks it up); a family without one gets no device.
    public init(
        nodeName: String, configuration: OverlayConfiguration, nodes: [NodeNetwork],
        underlayMTU: [IPFamily: Int] = [:]
    ) {
        state = OverlayState()
        peers = []
        skipped = []
        guard let local = nodes.first(where: { $0.name == nodeName }) else {
            skipped.append(Skip(node: nodeName, family: nil, reason: .localNodeMissing))
            return
        }
        let others = nodes.filter { $0.name != nodeName }.sorted { $0.name < $1.name }
        for family in IPFamily.allCases {
            planFamily(family, local: local, others: others, configuration: configuration, mtu: underlayMTU[family])
        }
    }

    private mutating func planFamily(
        _ family: IPFamily, local: NodeNetwork, others: [NodeNetwork], configuration: OverlayConfiguration,
        mtu: Int?
    ) {
        guard let localIP = local.internalIPs[family] else {
            for peer in others where peer.podCIDRs[family] != nil {
                skipped.append(Skip(node: peer.name, family: family, reason: .noLocalInternalIP))
            }
            return
        }
        var device: VXLANDevice?
        if configuration.mode == .vxlan {
            guard let mtu else {
                skipped.append(
                    Skip(node: local.name, family: family, reason: .underlayInterfaceNotFound(localIP)))
                return
            }
            let name = OverlayConfiguration.deviceName(family)
            let made = VXLANDevice(
                name: name, vni: configuration.vni, port: configuration.port, local: localIP,
                mac: .vtep(underlay: localIP), mtu: mtu - OverlayConfiguration.encapsulationOverhead(family))
            state.devices[name] = made
            state.addresses[name] = Set(
                local.podCIDRs[family].map { [IPPrefix(address: $0.address, length: family.bitWidth)] } ?? [])
            device = made
        }
        var taken: [(node: String, prefix: IPPrefix)] = local.podCIDRs[family].map { [(local.name, $0)] } ?? []
        for peer in others {
            guard let cidr = peer.podCIDRs[family] else {
                skipped.append(Skip(node: peer.name, family: family, reason: .noPodCIDR))
                continue
            }
            guard let peerIP = peer.internalIPs[family] else {
                skipped.append(Skip(node: peer.name, family: family, reason: .noInternalIP))
                continue
            }
            if let clash = taken.first(where: { $0.prefix.overlaps(cidr) }) {
                let reason: Reason =
                    clash.node == local.name
                    ? .overlapsLocalPodCIDR(clash.prefix) : .overlapsPeer(clash.node, clash.prefix)
                skipped.append(Skip(node: peer.name, family: family, reason: reason))
                continue
            }
            taken.append((peer.name, cidr))
            peers.insert(peer.name)
            guard let device else {
                state.routes[cidr] = OverlayRoute(destination: cidr, gateway: peerIP)
                continue
            }
            let gateway = cidr.address
            let mac = MACAddress.vtep(underlay: peerIP)
            state.fdb.insert(OverlayFDBEntry(device: device.name, mac: mac, destination: peerIP))
            state.neighbours.insert(OverlayNeighbour(device: device.name, address: gateway, mac: mac))
            state.routes[cidr] = OverlayRoute(destination: cidr, gateway: gateway, device: device.name, onlink: true)
        }
    }
}
