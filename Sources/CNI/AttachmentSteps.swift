import WeftNet

// The values of a pod's secondary-network plan (issue 9): what the agent resolves from NetworkAttachmentDefinitions
// (module MultiNetwork) and weft-cni executes. They live here, not in MultiNetwork, so weft-cni does not link
// KubeModel and Yams (ARCHITECTURE.md, MultiNetwork row).

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

    public init(
        index: Int, attachment: String, networkName: String, cniVersion: String, ifname: String, conflist: JSONValue,
        cniArgs: [CNIArg], capabilityArgs: [String: JSONValue] = [:], defaultRoute: [IPAddress] = []
    ) {
        self.index = index
        self.attachment = attachment
        self.networkName = networkName
        self.cniVersion = cniVersion
        self.ifname = ifname
        self.conflist = conflist
        self.cniArgs = cniArgs
        self.capabilityArgs = capabilityArgs
        self.defaultRoute = defaultRoute
    }

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

    public init(clusterInterface: String = AttachmentPlan.clusterInterface, attachments: [AttachmentStep]) {
        self.clusterInterface = clusterInterface
        self.attachments = attachments
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
