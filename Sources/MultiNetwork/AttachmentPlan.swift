import CNI
import WeftNet

/// The pod a plan is for: what goes into `CNI_ARGS`.
public struct PodIdentity: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var uid: String
    /// The sandbox (infra container) ID: `K8S_POD_INFRA_CONTAINER_ID`.
    public var sandboxID: String

    public init(namespace: String, name: String, uid: String = "", sandboxID: String = "") {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.sandboxID = sandboxID
    }

    /// `CNI_ARGS` for every attachment, in Multus's order (`createRuntimeConf` in multus-cni pkg/types/conf.go):
    /// `IgnoreUnknown` first, so plugins that do not know the `K8S_*` keys accept them.
    public var cniArgs: [CNIArg] {
        [
            CNIArg("IgnoreUnknown", "true"), CNIArg("K8S_POD_NAMESPACE", namespace), CNIArg("K8S_POD_NAME", name),
            CNIArg("K8S_POD_INFRA_CONTAINER_ID", sandboxID), CNIArg("K8S_POD_UID", uid),
        ]
    }
}

extension AttachmentPlan {
    /// Builds the plan. Interface names follow Multus (`getIfname` in multus-cni): attachment `i` (1-based, in
    /// annotation order) gets its `interface`, else `net<i>` — positional, so `a@eth5,b` puts `b` on `net2`. Two
    /// attachments on one name, or one on the cluster network's, fail the pod (issue 9 "Bad input"). At most one
    /// gateway per address family may be asked for with `default-route` (Multus `CheckGatewayConfig`: no ECMP).
    public init(
        _ resolved: [ResolvedAttachment], pod: PodIdentity, clusterInterface: String = AttachmentPlan.clusterInterface
    ) throws(MultiNetworkError) {
        var owners: [String: String] = [clusterInterface: "the cluster network"]
        var steps: [AttachmentStep] = []
        var gateways: [IPFamily: [String]] = [:]
        for (offset, r) in resolved.enumerated() {
            let index = offset + 1
            let ifname = r.selection.interface ?? "net\(index)"
            let label = "network \(index) (\(r.qualifiedName))"
            if let first = owners[ifname] { throw .duplicateInterface(ifname, first: first, second: label) }
            owners[ifname] = label
            for gw in r.selection.defaultRoute { gateways[gw.family, default: []].append(r.qualifiedName) }

            var capabilityArgs: [String: JSONValue] = [:]
            let s = r.selection
            if !s.ips.isEmpty { capabilityArgs["ips"] = .array(s.ips.map { .string($0) }) }
            if let mac = s.mac { capabilityArgs["mac"] = .string(mac.description) }
            if !s.portMappings.isEmpty {
                capabilityArgs["portMappings"] = .array(
                    s.portMappings.map { m in
                        var o: [String: JSONValue] = [
                            "hostPort": .number(Double(m.hostPort)), "containerPort": .number(Double(m.containerPort)),
                            "protocol": .string(m.protocol),
                        ]
                        if let h = m.hostIP { o["hostIP"] = .string(h) }
                        return .object(o)
                    })
            }
            if let bw = s.bandwidth { capabilityArgs["bandwidth"] = bw.json }

            var conflist = r.config.conflist
            if let args = s.cniArgs {
                conflist = try Self.injectCNIArgs(args, into: conflist, attachment: r.qualifiedName)
            }
            steps.append(
                AttachmentStep(
                    index: index, attachment: r.qualifiedName, networkName: r.config.networkName,
                    cniVersion: r.config.cniVersion, ifname: ifname, conflist: conflist, cniArgs: pod.cniArgs,
                    capabilityArgs: capabilityArgs, defaultRoute: s.defaultRoute))
        }
        for family in [IPFamily.v4, .v6] {
            if let names = gateways[family], names.count > 1 {
                throw .conflictingDefaultRoutes(family: family.rawValue, networks: names)
            }
        }
        self.init(clusterInterface: clusterInterface, attachments: steps)
    }

    /// `cni-args` go to every plugin's `args.cni`, merged over what the configuration already has there (Multus
    /// `injectCNIArgs`; CNI CONVENTIONS.md "Args in network config"), not to `CNI_ARGS`: they are structured JSON,
    /// and a plugin without `IgnoreUnknown` rejects unknown `CNI_ARGS` keys.
    static func injectCNIArgs(_ args: [String: JSONValue], into conflist: JSONValue, attachment: String)
        throws(MultiNetworkError) -> JSONValue
    {
        var list = conflist
        var plugins = list["plugins"]?.arrayValue ?? []
        for n in plugins.indices {
            var plugin = plugins[n].objectValue ?? [:]
            var argsObject: [String: JSONValue] = [:]
            if let existing = plugin["args"], existing != .null {
                guard case .object(let o) = existing else {
                    throw .invalidConfig(
                        attachment: attachment,
                        reason: "plugin \(n) has \"args\" that is not an object, so cni-args "
                            + "cannot be added")
                }
                argsObject = o
            }
            var cni: [String: JSONValue] = [:]
            if let existing = argsObject["cni"], existing != .null {
                guard case .object(let o) = existing else {
                    throw .invalidConfig(
                        attachment: attachment,
                        reason: "plugin \(n) has \"args.cni\" that is not an object, so "
                            + "cni-args cannot be added")
                }
                cni = o
            }
            for (k, v) in args { cni[k] = v }
            argsObject["cni"] = .object(cni)
            plugin["args"] = .object(argsObject)
            plugins[n] = .object(plugin)
        }
        list["plugins"] = .array(plugins)
        return list
    }
}
