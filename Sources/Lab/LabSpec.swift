import Foundation
import WeftNet

/// Which address families a lab's pods and services get.
public enum LabIPFamily: String, Sendable, Codable, CaseIterable {
    case ipv4
    case ipv6
    case dual

    public var hasIPv4: Bool { self != .ipv6 }
    public var hasIPv6: Bool { self != .ipv4 }
}

/// How a lab's nodes reach each other's pods (`weft agent --overlay`).
public enum LabOverlay: String, Sendable, Codable, CaseIterable {
    case vxlan
    case hostGW = "host-gw"
}

/// What `weft lab up` was asked for, kept in the lab's state directory (`lab.json`) so that every later command
/// (`down`, `status`, `exec`, `node add`) and the supervisor agree on it. The node list changes with
/// `weft lab node add|remove`; the supervisor re-reads the file on SIGHUP.
public struct LabSpec: Sendable, Codable, Equatable {
    public var name: String
    /// The lab's index on this machine (its underlay subnet and the machine's veth name).
    public var index: Int
    /// The nodes' numbers: node `i` is `node-i` (see `LabTopology.node(_:)`).
    public var nodes: [Int]
    public var overlay: LabOverlay
    public var ipFamily: LabIPFamily

    public init(name: String, index: Int, nodes: [Int], overlay: LabOverlay, ipFamily: LabIPFamily) {
        self.name = name
        self.index = index
        self.nodes = nodes
        self.overlay = overlay
        self.ipFamily = ipFamily
    }

    /// Where the lab's API server listens, on the machine's underlay address.
    public static let apiServerPort = 6443
    /// Where each node's `weft agent` serves /healthz and /metrics, on the node's underlay address.
    public static let agentMetricsPort = 9478

    /// The topology of the lab (names and addresses of namespaces and links).
    public var topology: LabTopology {
        // The spec was validated when it was made (name, index, node numbers within the limits).
        try! LabTopology(name: name, index: index, nodeCount: max(nodes.max() ?? 1, 1))
    }

    /// The lab's nodes.
    public var hosts: [LabHost] { nodes.sorted().map(topology.node) }

    /// Pod address ranges (kube-controller-manager's `--cluster-cidr`), per family the lab has.
    public var clusterCIDRs: [String] {
        (ipFamily.hasIPv4 ? ["10.244.0.0/16"] : []) + (ipFamily.hasIPv6 ? ["fd00:10:244::/56"] : [])
    }

    /// Service address ranges (`--service-cluster-ip-range`).
    public var serviceCIDRs: [String] {
        (ipFamily.hasIPv4 ? ["10.96.0.0/12"] : []) + (ipFamily.hasIPv6 ? ["fd00:10:96::/108"] : [])
    }

    /// The cluster DNS service's addresses (the tenth of each service range, as kubeadm picks), which pods'
    /// resolv.conf names.
    public var clusterDNS: [String] {
        serviceCIDRs.compactMap { IPPrefix($0)?.network.address.advanced(by: 10).description }
    }

    /// The underlay addresses of a host in the lab's families.
    public func addresses(of host: LabHost) -> [IPAddress] {
        (ipFamily.hasIPv4 ? [host.addresses.v4] : []) + (ipFamily.hasIPv6 ? [host.addresses.v6] : [])
    }

    // MARK: Files

    public var stateDirectory: String { topology.stateDirectory }
    public static func specFile(_ name: String) -> String { "/run/weft/lab/\(name)/lab.json" }

    public func save() throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = Self.specFile(name) + ".tmp"
        try encoder.encode(self).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, Self.specFile(name)) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// The spec of the lab named `name`, or nil when no such lab has state on this machine.
    public static func load(name: String) throws -> LabSpec? {
        guard let data = FileManager.default.contents(atPath: specFile(name)) else { return nil }
        return try JSONDecoder().decode(LabSpec.self, from: data)
    }
}

/// Where a lab keeps its files: `/run/weft/lab/NAME` (state: spec, pid, logs, CNI, pods) and
/// `/var/lib/weft/lab/NAME` (the API server's database and PKI).
public struct LabPaths: Sendable {
    public let topology: LabTopology

    public init(_ topology: LabTopology) { self.topology = topology }

    public var state: String { topology.stateDirectory }
    public var data: String { topology.dataDirectory }
    public var pidFile: String { state + "/supervisor.pid" }
    public var log: String { state + "/lab.log" }
    /// The admin kubeconfig (written by the API server).
    public var kubeconfig: String { data + "/kubeconfig" }
    /// The node agents' kubeconfig.
    public var agentKubeconfig: String { state + "/agent.kubeconfig" }

    public func node(_ host: LabHost) -> String { state + "/nodes/" + host.name }
    public func agentLog(_ host: LabHost) -> String { node(host) + "/agent.log" }
    public func cniConfigDirectory(_ host: LabHost) -> String { node(host) + "/cni/net.d" }
    public func cniBinDirectory(_ host: LabHost) -> String { node(host) + "/cni/bin" }
    public func cniCacheDirectory(_ host: LabHost) -> String { node(host) + "/cni/cache" }
    public func cniStateDirectory(_ host: LabHost) -> String { node(host) + "/cni/state" }
    public func ipamDirectory(_ host: LabHost) -> String { node(host) + "/cni/ipam" }
    /// weft-cni's concurrency slots for secondary networks (`ConcurrencySlots`), one set per node.
    public func cniSlotDirectory(_ host: LabHost) -> String { node(host) + "/cni/slots" }
    /// The node agent's multi-network socket (all nodes share the machine's filesystem: one path each).
    public func multiNetworkSocket(_ host: LabHost) -> String { node(host) + "/multinet.sock" }
    /// A pod's files (resolv.conf, hosts, container logs), by UID.
    public func pod(_ host: LabHost, uid: String) -> String { node(host) + "/pods/" + uid }
    public func containerLog(_ host: LabHost, uid: String, container: String) -> String {
        pod(host, uid: uid) + "/" + container + ".log"
    }

    /// A pod's network namespace name: under the lab's prefix, so `down` finds it.
    public func podNamespace(uid: String) -> String { topology.namespacePrefix + "pod-" + uid }
}
