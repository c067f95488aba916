import KubeModel
import WeftNet

/// What the overlay needs of one Node: its pod CIDRs and its underlay addresses, at most one of each per family.
public struct NodeNetwork: Sendable, Hashable {
    public var name: String
    /// `spec.podCIDRs` (or the older `spec.podCIDR`), the first of each family, host bits cleared.
    public var podCIDRs: [IPFamily: IPPrefix]
    /// The first `InternalIP` of each family in `status.addresses`.
    public var internalIPs: [IPFamily: IPAddress]

    public init(name: String, podCIDRs: [IPFamily: IPPrefix] = [:], internalIPs: [IPFamily: IPAddress] = [:]) {
        self.name = name
        self.podCIDRs = podCIDRs
        self.internalIPs = internalIPs
    }

    /// Reads a Node; text that does not parse as a prefix or an address is ignored.
    public init(_ node: Node) {
        self.init(name: node.name)
        var cidrs = node.spec?.podCIDRs ?? []
        if cidrs.isEmpty, let single = node.spec?.podCIDR { cidrs = [single] }
        for text in cidrs {
            guard let prefix = IPPrefix(text), podCIDRs[prefix.family] == nil else { continue }
            podCIDRs[prefix.family] = prefix.network
        }
        for address in node.status?.addresses ?? [] where address.type == "InternalIP" {
            guard let ip = IPAddress(address.address), internalIPs[ip.family] == nil else { continue }
            internalIPs[ip.family] = ip
        }
    }
}
