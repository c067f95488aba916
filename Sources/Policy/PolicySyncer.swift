import KubeModel
import NFTables
import WeftNet

/// The enforcer's sync, as `ProxySyncer` is the proxy's: holds the Pods, Namespaces, NetworkPolicies,
/// AdminNetworkPolicies and BaselineAdminNetworkPolicies it was told about and the node it runs on, and on
/// `sync()` compiles them (`PolicyCompiler`) and programs table `inet weft-policy` in one transaction — the whole
/// table the first time, after any failure and when the node's pod CIDRs change (they are in the skeleton's
/// rules); otherwise only the difference from what the kernel holds (`PolicyKernelState`): a pod coming, going or
/// changing labels is elements only, unless it makes or empties a pod group.
///
/// Every change marks the state dirty; a change to a field policies do not read (a pod's status heartbeat, an
/// annotation) does not, and `set` says so, so the caller can skip the sync. Each sync compiles everything (the
/// compiler is pure and cheap next to the kernel's work); only the kernel side is incremental.
public actor PolicySyncer {
    public let ruleset: PolicyRuleset
    private let backend: any NFTablesBackend
    public private(set) var node: PolicyNode
    private var pods: [String: Pod] = [:]
    private var podViews: [String: PodView] = [:]
    private var namespaces: [String: Namespace] = [:]
    private var networkPolicies: [String: NetworkPolicy] = [:]
    private var adminPolicies: [String: AdminNetworkPolicy] = [:]
    private var baselinePolicies: [String: BaselineAdminNetworkPolicy] = [:]
    /// Nodes, for admin `nodes` peers (only their labels and addresses are read).
    private var nodes: [String: Node] = [:]
    private var dirty = true
    private var needsFullSync = true
    private var state = PolicyKernelState()
    /// What the last successful sync programmed (for `weft policy trace`).
    public private(set) var compiled: CompiledPolicies?

    /// How many of each kind the syncer holds.
    public struct PolicyCounts: Sendable, Hashable {
        public var networkPolicies = 0
        public var adminNetworkPolicies = 0
        public var baselineAdminNetworkPolicies = 0
    }

    /// What one sync did.
    public struct Report: Sendable, Equatable {
        public var full: Bool
        /// The operations in the transaction (0: nothing to do, nothing applied).
        public var operations: Int
        public var policies: PolicyCounts
        /// Local pods the node enforces for, and the pod groups (chains) they make.
        public var localPods: Int
        public var groups: Int
        /// Elements, sets and chains of the table beyond its skeleton.
        public var elements: Int
        public var sets: Int
        public var chains: Int
        /// What the compiler left out, and why (bad input is skipped, never applied in part).
        public var skipped: [PolicySkip]
        public var compileDuration: Duration
        public var applyDuration: Duration

        public var duration: Duration { compileDuration + applyDuration }
    }

    public init(node: PolicyNode, backend: any NFTablesBackend, ruleset: PolicyRuleset = PolicyRuleset()) {
        self.node = node
        self.backend = backend
        self.ruleset = ruleset
    }

    // MARK: Input

    /// A new view of this node: its addresses are elements, its pod CIDRs are in the skeleton (a full sync).
    @discardableResult
    public func setNode(_ new: PolicyNode) -> Bool {
        guard new != node else { return false }
        if Set(new.podCIDRs) != Set(node.podCIDRs) { needsFullSync = true }
        node = new
        dirty = true
        return true
    }

    static func key(_ meta: ObjectMeta, namespaced: Bool) -> String {
        namespaced ? "\(meta.namespace ?? "default")/\(meta.name ?? "")" : meta.name ?? ""
    }

    /// Adds or replaces a pod; returns whether anything the policies read changed.
    @discardableResult
    public func set(_ pod: Pod) -> Bool {
        let key = Self.key(pod.metadata, namespaced: true)
        pods[key] = pod
        let view = PodView(pod)
        guard podViews[key] != view else { return false }
        podViews[key] = view
        dirty = true
        return true
    }

    @discardableResult
    public func remove(_ pod: Pod) -> Bool {
        let key = Self.key(pod.metadata, namespaced: true)
        guard pods.removeValue(forKey: key) != nil else { return false }
        podViews[key] = nil
        dirty = true
        return true
    }

    @discardableResult
    public func set(_ namespace: Namespace) -> Bool {
        let key = Self.key(namespace.metadata, namespaced: false)
        let old = namespaces.updateValue(namespace, forKey: key)
        guard old?.metadata.labels != namespace.metadata.labels || old == nil else { return false }
        dirty = true
        return true
    }

    @discardableResult
    public func remove(_ namespace: Namespace) -> Bool {
        guard namespaces.removeValue(forKey: Self.key(namespace.metadata, namespaced: false)) != nil else {
            return false
        }
        dirty = true
        return true
    }

    /// Adds or replaces a node (any node: admin `nodes` peers select them); returns whether its labels or addresses
    /// changed.
    @discardableResult
    public func set(_ node: Node) -> Bool {
        let old = nodes.updateValue(node, forKey: Self.key(node.metadata, namespaced: false))
        func view(_ node: Node?) -> [String] {
            (node?.metadata.labels ?? [:]).map { "\($0.key)=\($0.value)" }.sorted()
                + (node?.status?.addresses ?? []).map { "\($0.type) \($0.address)" }
        }
        return markIf(old == nil || view(old) != view(node))
    }

    @discardableResult
    public func remove(_ node: Node) -> Bool {
        markIf(nodes.removeValue(forKey: Self.key(node.metadata, namespaced: false)) != nil)
    }

    @discardableResult
    public func set(_ policy: NetworkPolicy) -> Bool {
        let old = networkPolicies.updateValue(policy, forKey: Self.key(policy.metadata, namespaced: true))
        return markIf(old?.spec != policy.spec || old == nil)
    }

    @discardableResult
    public func remove(_ policy: NetworkPolicy) -> Bool {
        markIf(networkPolicies.removeValue(forKey: Self.key(policy.metadata, namespaced: true)) != nil)
    }

    @discardableResult
    public func set(_ policy: AdminNetworkPolicy) -> Bool {
        let old = adminPolicies.updateValue(policy, forKey: Self.key(policy.metadata, namespaced: false))
        return markIf(old?.spec != policy.spec || old == nil)
    }

    @discardableResult
    public func remove(_ policy: AdminNetworkPolicy) -> Bool {
        markIf(adminPolicies.removeValue(forKey: Self.key(policy.metadata, namespaced: false)) != nil)
    }

    @discardableResult
    public func set(_ policy: BaselineAdminNetworkPolicy) -> Bool {
        let old = baselinePolicies.updateValue(policy, forKey: Self.key(policy.metadata, namespaced: false))
        return markIf(old?.spec != policy.spec || old == nil)
    }

    @discardableResult
    public func remove(_ policy: BaselineAdminNetworkPolicy) -> Bool {
        markIf(baselinePolicies.removeValue(forKey: Self.key(policy.metadata, namespaced: false)) != nil)
    }

    private func markIf(_ changed: Bool) -> Bool {
        if changed { dirty = true }
        return changed
    }

    /// Whether a sync has something to do.
    public var hasChanges: Bool { dirty || needsFullSync }

    public var policyCounts: PolicyCounts {
        PolicyCounts(
            networkPolicies: networkPolicies.count, adminNetworkPolicies: adminPolicies.count,
            baselineAdminNetworkPolicies: baselinePolicies.count)
    }

    public var inputs: PolicyInputs {
        PolicyInputs(
            networkPolicies: Array(networkPolicies.values), adminNetworkPolicies: Array(adminPolicies.values),
            baselineAdminNetworkPolicies: Array(baselinePolicies.values), pods: Array(pods.values),
            namespaces: Array(namespaces.values), nodes: Array(nodes.values))
    }

    // MARK: Sync

    /// Programs the kernel. A failed transaction changes nothing in the kernel; the next sync is then a full one.
    @discardableResult
    public func sync() throws -> Report {
        let clock = ContinuousClock()
        let start = clock.now
        let full = needsFullSync
        guard full || dirty else {
            let counts = state.counts
            return Report(
                full: false, operations: 0, policies: policyCounts, localPods: compiled?.localPods.count ?? 0,
                groups: compiled?.groups.count ?? 0, elements: counts.elements, sets: counts.sets,
                chains: counts.chains, skipped: compiled?.skipped ?? [], compileDuration: .zero, applyDuration: .zero)
        }
        let compiled = PolicyCompiler(node: node).compile(inputs)
        var tx = Transaction()
        if full {
            // The whole table in one transaction: on the fresh table everything is an add.
            state.reset()
            tx.deleteIfExists(Table(family: .inet, name: PolicyRuleset.table))
            tx.append(contentsOf: ruleset.skeleton(node: node))
        }
        // Changed in place; a failed transaction leaves it ahead of the kernel, and the full sync that follows
        // rebuilds it.
        tx.append(contentsOf: state.update(to: ruleset.objects(compiled)))
        let compiledAt = clock.now
        if !tx.isEmpty {
            do {
                try backend.apply(tx)
            } catch {
                needsFullSync = true
                throw error
            }
        }
        dirty = false
        needsFullSync = false
        self.compiled = compiled
        let counts = state.counts
        return Report(
            full: full, operations: tx.count, policies: policyCounts, localPods: compiled.localPods.count,
            groups: compiled.groups.count, elements: counts.elements, sets: counts.sets, chains: counts.chains,
            skipped: compiled.skipped, compileDuration: compiledAt - start, applyDuration: clock.now - compiledAt)
    }
}

/// What the compiler reads of a pod: a change to anything else (status conditions, annotations, the
/// resourceVersion) needs no sync.
struct PodView: Hashable {
    var labels: [String: String]
    var nodeName: String?
    var hostNetwork: Bool
    var finished: Bool
    var addresses: [String]
    var ports: [String]

    init(_ pod: Pod) {
        labels = pod.metadata.labels ?? [:]
        nodeName = pod.spec?.nodeName
        hostNetwork = pod.spec?.hostNetwork == true
        finished = ["Succeeded", "Failed"].contains(pod.status?.phase ?? "")
        addresses = (pod.status?.podIPs ?? []).map(\.ip) + [pod.status?.podIP ?? ""]
        ports = (pod.spec?.containers ?? []).flatMap { container in
            (container.ports ?? []).map { "\($0.name ?? "")/\($0.protocol?.rawValue ?? "TCP")/\($0.containerPort)" }
        }
    }
}
