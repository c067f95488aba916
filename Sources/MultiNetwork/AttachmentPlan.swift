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

/// One `KEY=VALUE` of `CNI_ARGS`.
public struct CNIArg: Sendable, Hashable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// One secondary network to attach: what a runtime needs to run its configuration list.
public struct AttachmentStep: Sendable, Hashable {
    /// 1-based position in the annotation.
    public var index: Int
    /// `namespace/nad`, for the network-status annotation and messages.
    public var attachment: String
    /// The CNI network name (cache key with container ID and interface).
    public var networkName: String
    public var cniVersion: String
    /// `CNI_IFNAME`.
    public var ifname: String
    /// The configuration list to run, with `cni-args` merged into each plugin's `args.cni`.
    public var conflist: JSONValue
    /// `CNI_ARGS`, in order.
    public var cniArgs: [CNIArg]
    /// Capability arguments (`ips`, `mac`, `portMappings`, `bandwidth`), only those requested.
    public var capabilityArgs: [String: JSONValue]
    /// Gateways this attachment asked to own the default route through (`default-route`).
    public var defaultRoute: [IPAddress]

    /// The configuration list's bytes (what a runtime caches for DEL).
    public var conflistBytes: [UInt8] { conflist.serialized() }
    /// `CNI_ARGS` as the environment carries it.
    public var cniArgsString: String { cniArgs.map { "\($0.key)=\($0.value)" }.joined(separator: ";") }
    /// The plugins of the list, in ADD order.
    public var plugins: [JSONValue] { conflist["plugins"]?.arrayValue ?? [] }

    /// The request configuration for plugin `n` (SPEC §3 "Deriving request configuration from plugin
    /// configuration"): the plugin object with the list's `name` and `cniVersion`, runtime-owned `cni.dev/` keys
    /// dropped, `runtimeConfig` holding exactly the capability arguments whose key the plugin declares `true` in
    /// `capabilities` (CONVENTIONS.md "Dynamic Plugin specific fields"; a plugin that does not ask gets none, so a
    /// macvlan without `"capabilities": {"mac": true}` never sees the requested MAC), `capabilities` removed, and
    /// `prevResult` when given. The same rules as `CNIRuntime` in the lab.
    public func requestConfig(plugin n: Int, prevResult: JSONValue? = nil) -> JSONValue {
        let plugin = plugins[n]
        var object = (plugin.objectValue ?? [:]).filter { !$0.key.hasPrefix("cni.dev/") }
        object["name"] = .string(networkName)
        object["cniVersion"] = .string(cniVersion)
        var runtimeConfig = object["runtimeConfig"]?.objectValue ?? [:]
        for (capability, declared) in plugin["capabilities"]?.objectValue ?? [:] where declared == .bool(true) {
            if let value = capabilityArgs[capability] { runtimeConfig[capability] = value }
        }
        object["runtimeConfig"] = runtimeConfig.isEmpty ? nil : .object(runtimeConfig)
        object["capabilities"] = nil
        object["prevResult"] = prevResult
        return .object(object)
    }
}

/// What runs, in which order.
public enum PlanStep: Sendable, Hashable {
    /// The cluster network (the node's default configuration), always first on ADD and last on DEL.
    case clusterNetwork(ifname: String)
    case attachment(AttachmentStep)

    public var ifname: String {
        switch self {
        case .clusterNetwork(let ifname): return ifname
        case .attachment(let step): return step.ifname
        }
    }

    /// How messages name the step.
    public var label: String {
        switch self {
        case .clusterNetwork(let ifname): return "the cluster network (\(ifname))"
        case .attachment(let step): return "\(step.attachment) (\(step.ifname))"
        }
    }
}

/// The attachments of one pod: the cluster network on `eth0`, then each resolved attachment in annotation order on
/// the interface it asked for or `net<position>`.
public struct AttachmentPlan: Sendable, Hashable {
    /// The cluster network's interface.
    public static let clusterInterface = "eth0"

    public var clusterInterface: String
    public var attachments: [AttachmentStep]

    /// Builds the plan. Interface names follow Multus (`getIfname` in multus-cni): attachment `i` (1-based, in
    /// annotation order) gets its `interface`, else `net<i>` — positional, so `a@eth5,b` puts `b` on `net2`. Two
    /// attachments on one name, or one on the cluster network's, fail the pod (issue 9 "Bad input"). At most one
    /// gateway per address family may be asked for with `default-route` (Multus `CheckGatewayConfig`: no ECMP).
    public init(
        _ resolved: [ResolvedAttachment], pod: PodIdentity, clusterInterface: String = AttachmentPlan.clusterInterface
    ) throws(MultiNetworkError) {
        self.clusterInterface = clusterInterface
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
        self.attachments = steps
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

    /// ADD: the cluster network, then the attachments in annotation order.
    public var addOrder: [PlanStep] {
        [.clusterNetwork(ifname: clusterInterface)] + attachments.map { .attachment($0) }
    }

    /// DEL: the reverse of ADD (the cluster network last), every step attempted whatever the others do.
    public var deleteOrder: [PlanStep] { addOrder.reversed() }

    /// After the ADD of `addOrder[failed]` failed: DEL of that step (a failed ADD must be followed by a DEL, SPEC
    /// §3 "Lifecycle & Ordering") and then of every step before it, in reverse. The pod's ADD fails as a whole.
    public func rollbackOrder(afterFailureAt failed: Int) -> [PlanStep] {
        Array(addOrder[...min(failed, addOrder.count - 1)].reversed())
    }
}
