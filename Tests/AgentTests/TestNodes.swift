import Agent
import KubeModel
import WeftNet

/// A Node object with pod CIDRs and InternalIPs.
func kubeNode(_ name: String, podCIDRs: [String], internalIPs: [String]) -> Node {
    var spec = NodeSpec()
    spec.podCIDRs = podCIDRs.isEmpty ? nil : podCIDRs
    spec.podCIDR = podCIDRs.first
    var status = NodeStatus()
    status.addresses = internalIPs.map { NodeAddress(type: "InternalIP", address: $0) }
    var metadata = ObjectMeta()
    metadata.name = name
    return Node(metadata: metadata, spec: spec, status: status)
}

/// The overlay's view of a node.
func network(_ name: String, podCIDRs: [String], internalIPs: [String]) -> NodeNetwork {
    NodeNetwork(kubeNode(name, podCIDRs: podCIDRs, internalIPs: internalIPs))
}

/// Three dual-stack nodes `a`, `b`, `c`: pod CIDRs 10.244.N.0/24 and fd00:10:244:N::/64, InternalIPs
/// 192.168.0.N and fd00:192::N (N = 1, 2, 3).
func dualStackNodes(_ names: [String] = ["a", "b", "c"]) -> [NodeNetwork] {
    names.enumerated().map { index, name in
        network(
            name, podCIDRs: ["10.244.\(index + 1).0/24", "fd00:10:244:\(index + 1)::/64"],
            internalIPs: ["192.168.0.\(index + 1)", "fd00:192::\(index + 1)"])
    }
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
func prefix(_ text: String) -> IPPrefix { IPPrefix(text)! }
func mac(_ text: String) -> MACAddress { MACAddress(text)! }
