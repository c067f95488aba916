import KubeModel
import WeftNet

/// What kube-apiserver does to some objects inside the write that stores them: a Service's cluster IPs, IP families
/// and node ports (`ServiceAllocator`), a new Node's pod CIDRs (`PodCIDRAllocator`).
///
/// Runs in the same store transaction as the write, and derives what is already allocated from the objects stored
/// in that transaction: writes are serialized, so concurrent creates never get the same address or port, deleting
/// an object (or changing it so it no longer needs its allocations) releases them, and a restart keeps them.
struct Admission: Sendable {
    var services: ServiceAllocator
    var nodes: PodCIDRAllocator

    /// Kube's defaults (see `APIServerConfiguration`).
    init() {
        self.init(configuration: APIServerConfiguration(dataDir: ""))
    }

    init(configuration: APIServerConfiguration) {
        services = ServiceAllocator(
            cidrs: configuration.serviceCIDRs.compactMap { IPPrefix($0)?.network },
            nodePorts: configuration.nodePortRange)
        nodes = PodCIDRAllocator(
            clusterCIDRs: configuration.clusterCIDRs.compactMap { IPPrefix($0)?.network },
            maskSizeIPv4: configuration.nodeCIDRMaskSizeIPv4, maskSizeIPv6: configuration.nodeCIDRMaskSizeIPv6)
    }

    /// The object to store in place of `new` (`old` is the stored one on an update, nil on a create).
    func admit(
        _ tx: inout ObjectStore.Transaction, _ resource: ResourceInfo, namespace: String?, old: JSONValue?,
        new: JSONValue
    ) throws -> JSONValue {
        switch resource.storageKey {
        case Resources.service.storageKey:
            return try services.admit(tx, namespace: namespace ?? "", old: old, new: new)
        case Resources.node.storageKey where old == nil:
            return try nodes.admit(tx, new: new)
        default:
            return new
        }
    }
}

/// A Node's pod CIDRs (kube-controller-manager's node IPAM, done at create time): the next free subnet of each
/// cluster CIDR, unless the node brings its own.
struct PodCIDRAllocator: Sendable {
    var clusterCIDRs: [IPPrefix]
    var maskSizeIPv4: Int
    var maskSizeIPv6: Int

    func admit(_ tx: ObjectStore.Transaction, new: JSONValue) throws -> JSONValue {
        let existing = new["spec"]?["podCIDRs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if !existing.isEmpty || new["spec"]?["podCIDR"]?.stringValue?.isEmpty == false {
            var object = new
            if existing.isEmpty, let single = new["spec"]?["podCIDR"] {
                object.setValue(.array([single]), at: ["spec", "podCIDRs"])
            }
            return object
        }
        let name = new.metadataString("name") ?? ""
        var used: Set<IPPrefix> = []
        for node in try tx.list(Resources.node, namespace: nil) where node.metadataString("name") != name {
            for text in node["spec"]?["podCIDRs"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                if let prefix = IPPrefix(text) { used.insert(prefix.network) }
            }
            if let text = node["spec"]?["podCIDR"]?.stringValue, let prefix = IPPrefix(text) {
                used.insert(prefix.network)
            }
        }
        var assigned: [String] = []
        for cidr in clusterCIDRs {
            let size = cidr.family == .v4 ? maskSizeIPv4 : maskSizeIPv6
            guard size >= cidr.length, size <= cidr.family.bitWidth, size - cidr.length < 32 else { continue }
            let count = 1 << (size - cidr.length)
            let step = UInt128(1) << UInt128(cidr.family.bitWidth - size)
            var found: IPPrefix?
            for index in 0..<count {
                let address = IPAddress(family: cidr.family, numeric: cidr.address.numeric + UInt128(index) * step)
                let candidate = IPPrefix(address: address, length: size)
                if !used.contains(candidate) {
                    found = candidate
                    break
                }
            }
            guard let found else {
                throw Status.invalid(
                    Resources.node, name: name,
                    causes: [
                        Status.Cause(
                            reason: "FieldValueInvalid",
                            message: "Invalid value: \"\(cidr)\": no remaining pod CIDRs of size /\(size)",
                            field: "spec.podCIDRs")
                    ])
            }
            assigned.append(found.description)
        }
        guard !assigned.isEmpty else { return new }
        var object = new
        object.setValue(.string(assigned[0]), at: ["spec", "podCIDR"])
        object.setValue(.array(assigned.map(JSONValue.string)), at: ["spec", "podCIDRs"])
        return object
    }
}
