import WeftNet

/// The direction a policy rule governs, seen from its subject pod.
public enum PolicyDirection: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Traffic to the subject pod, checked at the destination's node.
    case ingress
    /// Traffic from the subject pod, checked at the source's node.
    case egress

    public static func < (a: Self, b: Self) -> Bool { a.rawValue > b.rawValue }
}

/// What a matching rule does.
public enum PolicyAction: String, Sendable, Hashable {
    case allow = "Allow"
    case deny = "Deny"
    /// AdminNetworkPolicy only: skip the remaining admin rules, on to NetworkPolicy.
    case pass = "Pass"
}

/// Where a compiled rule comes from: the policy, the direction and the rule's index (and name, for admin rules).
public struct PolicyRuleOrigin: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case admin = "AdminNetworkPolicy"
        case network = "NetworkPolicy"
        case baseline = "BaselineAdminNetworkPolicy"

        var short: String {
            switch self {
            case .admin: "anp"
            case .network: "np"
            case .baseline: "banp"
            }
        }
    }

    public var kind: Kind
    /// `namespace/name` for a NetworkPolicy, the name for the cluster-scoped kinds.
    public var policy: String
    public var direction: PolicyDirection
    /// The rule's index in the policy's `ingress` or `egress` list; `nil` for a NetworkPolicy's isolation (the
    /// policy selects the pod and none of its rules allowed the traffic).
    public var rule: Int?
    /// An admin rule's `name`.
    public var ruleName: String?

    public init(kind: Kind, policy: String, direction: PolicyDirection, rule: Int?, ruleName: String? = nil) {
        self.kind = kind
        self.policy = policy
        self.direction = direction
        self.rule = rule
        self.ruleName = ruleName
    }

    /// `NetworkPolicy x/allow-a ingress[0]`, `AdminNetworkPolicy deny-z egress[1] "block"`.
    public var description: String {
        var text = "\(kind.rawValue) \(policy) \(direction.rawValue)"
        if let rule { text += "[\(rule)]" }
        if let ruleName, !ruleName.isEmpty { text += " \"\(ruleName)\"" }
        return text
    }

    /// Short form for log prefixes: `np:x/allow-a`, `anp:deny-z/egress[1]`.
    public var short: String {
        var text = "\(kind.short):\(policy)"
        if let rule { text += "/\(direction.rawValue)[\(rule)]" }
        return text
    }
}

/// One rule as a pod group enforces it: what it matches on the peer side, and its action.
public struct CompiledRule: Sendable, Hashable {
    public var origin: PolicyRuleOrigin
    public var action: PolicyAction
    public var match: TrafficMatch

    public init(origin: PolicyRuleOrigin, action: PolicyAction, match: TrafficMatch) {
        self.origin = origin
        self.action = action
        self.match = match
    }
}

/// The pods of one node that the same policies select in one direction (with the same named ports, for ingress):
/// they share one chain. The order is the evaluation order: `admin` rules first to last (by priority), then —
/// when `isolatingPolicies` is not empty — NetworkPolicy (`networkAllow`: the union of `networkRules`; no match
/// means denied), else `baseline` rules; no decision means allowed.
public struct PolicyGroup: Sendable, Hashable {
    /// The chain's name: `in-` or `eg-` and a hash of what defines the group.
    public var name: String
    public var direction: PolicyDirection
    public var admin: [CompiledRule]
    /// The NetworkPolicies that select the pods in this direction (`namespace/name`, sorted); empty: not isolated.
    public var isolatingPolicies: [String]
    /// Each NetworkPolicy rule (for explanations); the chain uses their union, `networkAllow`.
    public var networkRules: [CompiledRule]
    public var networkAllow: TrafficMatch
    public var baseline: [CompiledRule]

    /// Whether an admin rule passes (the NetworkPolicy and baseline part then lives in a second chain).
    public var hasPass: Bool { admin.contains { $0.action == .pass } }
}

/// A local pod the node enforces policies for.
public struct LocalPod: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var addresses: [IPAddress]

    public init(namespace: String, name: String, addresses: [IPAddress]) {
        self.namespace = namespace
        self.name = name
        self.addresses = addresses
    }
}

/// Something the compiler left out, and why (bad input is skipped, never applied in part).
public struct PolicySkip: Sendable, Hashable, CustomStringConvertible {
    /// `NetworkPolicy x/bad`, `NetworkPolicy x/bad ingress[0]`, `AdminNetworkPolicy a egress[2]`.
    public var what: String
    public var reason: String

    public init(what: String, reason: String) {
        self.what = what
        self.reason = reason
    }

    public var description: String { "\(what): \(reason)" }
}

/// The node a compilation is for.
public struct PolicyNode: Sendable, Hashable {
    public var name: String
    /// Every address of the node (its interfaces, including the pod bridge or gateway): traffic from them to a
    /// local pod is allowed, and they are never taken for an unknown pod.
    public var addresses: [IPAddress]
    /// The node's pod CIDRs. When given, a packet from or to an address in them that is not a known local pod is
    /// dropped: a new pod stays isolated until the agent has programmed its membership.
    public var podCIDRs: [IPPrefix]

    public init(name: String, addresses: [IPAddress] = [], podCIDRs: [IPPrefix] = []) {
        self.name = name
        self.addresses = addresses
        self.podCIDRs = podCIDRs
    }
}

/// What one node enforces: its pod groups, which group each local pod address belongs to per direction, and
/// what was skipped. `PolicyRuleset` programs it; `PolicyTracer` explains verdicts from it.
public struct CompiledPolicies: Sendable, Hashable {
    public var node: PolicyNode
    public var localPods: [LocalPod] = []
    /// Groups by chain name.
    public var groups: [String: PolicyGroup] = [:]
    /// For each local pod address, its group's name per direction (absent: no policy applies that way).
    public var ingress: [IPAddress: String] = [:]
    public var egress: [IPAddress: String] = [:]
    public var skipped: [PolicySkip] = []

    public init(node: PolicyNode) { self.node = node }

    /// The group that governs `address` in `direction`, if any.
    public func group(for address: IPAddress, _ direction: PolicyDirection) -> PolicyGroup? {
        let name = direction == .ingress ? ingress[address] : egress[address]
        return name.flatMap { groups[$0] }
    }

    /// The local pod with `address`.
    public func localPod(_ address: IPAddress) -> LocalPod? { localPods.first { $0.addresses.contains(address) } }
}
