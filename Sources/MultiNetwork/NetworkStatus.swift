import CNI
import WeftNet

/// One element of the pod annotation `k8s.v1.cni.cncf.io/network-status` (multi-net spec v1.3, "Network Status
/// Annotation"; the Go model is `NetworkStatus` in network-attachment-definition-client): what one network gave
/// the pod, read from its CNI result.
public struct NetworkStatus: Sendable, Hashable {
    /// The annotation's key.
    public static let annotation = "k8s.v1.cni.cncf.io/network-status"

    /// `namespace/nad` for an attachment; the cluster network's CNI network name for the cluster network.
    public var name: String
    /// The pod-side interface.
    public var interface: String?
    /// Addresses without prefix length, in the result's order.
    public var ips: [String]
    public var mac: String?
    /// True for the cluster network only, as Multus (`default` = the delegate is the cluster network).
    public var isDefault: Bool
    public var dns: DNSConfig?

    public init(
        name: String, interface: String? = nil, ips: [String] = [], mac: String? = nil, isDefault: Bool = false,
        dns: DNSConfig? = nil
    ) {
        self.name = name
        self.interface = interface
        self.ips = ips
        self.mac = mac
        self.isDefault = isDefault
        self.dns = dns
    }

    /// The status of one network from its ADD result. The pod interface is the result's interface with a `sandbox`
    /// named `ifname` (the one the attachment asked for), else the last one with a `sandbox` (what Multus's
    /// `CreateNetworkStatus` takes: host-side interfaces have no sandbox), else `ifname` without a MAC when the
    /// plugin reported no interfaces. All of the result's addresses are listed, as Multus does.
    public init(name: String, ifname: String, result: CNIResult, isDefault: Bool) {
        let sandboxed = result.interfaces.filter { ($0.sandbox ?? "").isEmpty == false }
        let pod = sandboxed.first { $0.name == ifname } ?? sandboxed.last
        self.init(
            name: name, interface: pod?.name ?? ifname, ips: result.ips.map { $0.address.address.description },
            mac: pod?.mac, isDefault: isDefault, dns: result.dns)
    }

    /// The element as JSON: `name`, then `interface`, `ips`, `mac` and `default` when set, and `dns` always (an
    /// empty object when the plugin gave none, as Multus writes it).
    public var json: JSONValue {
        var o: [String: JSONValue] = ["name": .string(name)]
        if let interface { o["interface"] = .string(interface) }
        if !ips.isEmpty { o["ips"] = .array(ips.map { .string($0) }) }
        if let mac, !mac.isEmpty { o["mac"] = .string(mac) }
        if isDefault { o["default"] = .bool(true) }
        var d: [String: JSONValue] = [:]
        if let dns {
            if let n = dns.nameservers, !n.isEmpty { d["nameservers"] = .array(n.map { .string($0) }) }
            if let v = dns.domain, !v.isEmpty { d["domain"] = .string(v) }
            if let s = dns.search, !s.isEmpty { d["search"] = .array(s.map { .string($0) }) }
            if let v = dns.options, !v.isEmpty { d["options"] = .array(v.map { .string($0) }) }
        }
        o["dns"] = .object(d)
        return .object(o)
    }

    /// The annotation's value: a JSON list, in attachment order (the cluster network first).
    public static func annotationValue(_ statuses: [NetworkStatus]) -> String {
        JSONValue.array(statuses.map(\.json)).serializedString
    }

    /// The statuses of a pod whose plan's steps gave `results` (in `addOrder`, as `AttachmentExecutor.add`
    /// returns them). `clusterNetworkName` names the cluster network's entry.
    public static func build(clusterNetworkName: String, results: [(step: PlanStep, result: CNIResult)])
        -> [NetworkStatus]
    {
        results.map { step, result in
            switch step {
            case .clusterNetwork(let ifname):
                return NetworkStatus(name: clusterNetworkName, ifname: ifname, result: result, isDefault: true)
            case .attachment(let a):
                return NetworkStatus(name: a.attachment, ifname: a.ifname, result: result, isDefault: false)
            }
        }
    }
}
