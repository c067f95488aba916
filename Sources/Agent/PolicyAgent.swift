import KubeClient
import KubeModel
import Logging
import Policy
import ServiceLifecycle
import Synchronization
import WeftNet

/// The network-policy half of `weft agent`: watches Pods, Namespaces, NetworkPolicies, AdminNetworkPolicies,
/// BaselineAdminNetworkPolicies and this node's Node object, and has the `PolicySyncer` program this node's
/// `inet weft-policy` table, as `ServiceProxyAgent` does for the proxy: syncs are rate-limited (changes within
/// `minimumInterval` of the last sync go together into the next one) and retried after a failure as a full sync.
///
/// The node the syncer enforces for: its name, its pod CIDRs (from the Node object: packets of an address in them
/// that is no known pod are dropped), and its addresses — the Node's InternalIPs and ExternalIPs and every address
/// of the namespace the agent runs in (`localAddresses`), which include the pod bridge's or gateway's: traffic
/// from them to a local pod is the node's own (kubelet probes, masqueraded NodePort traffic). The local addresses
/// are read again before every sync and every `addressInterval` (CNI adds the bridge address with the first pod).
///
/// AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) are optional: an API
/// server that does not serve them (404 or 403 on the first list), or a list that keeps failing for
/// `optionalWait` (one object that does not decode fails the informer's whole list), is logged, and the agent goes
/// on with none of that kind; their informers keep trying, so policies listed later are enforced then.
public final class PolicyAgent: ServiceLifecycle.Service {
    private let client: KubeClient
    private let nodeName: String
    private let syncer: PolicySyncer
    public let metrics: PolicyMetrics
    private let localAddresses: @Sendable () throws -> [IPAddress]
    private let minimumInterval: Duration
    private let retryInterval: Duration
    private let addressInterval: Duration
    private let optionalWait: Duration
    private let logger: Logger
    private let nodeObject = Mutex<Node?>(nil)
    private let lastSkipped = Mutex<[PolicySkip]>([])

    public init(
        client: KubeClient, nodeName: String, syncer: PolicySyncer, metrics: PolicyMetrics = PolicyMetrics(),
        localAddresses: @escaping @Sendable () throws -> [IPAddress] = { [] },
        minimumInterval: Duration = .milliseconds(50), retryInterval: Duration = .seconds(1),
        addressInterval: Duration = .seconds(5), optionalWait: Duration = .seconds(10),
        logger: Logger = Logger(label: "weft.agent.policy")
    ) {
        self.client = client
        self.nodeName = nodeName
        self.syncer = syncer
        self.metrics = metrics
        self.localAddresses = localAddresses
        self.minimumInterval = minimumInterval
        self.retryInterval = retryInterval
        self.addressInterval = addressInterval
        self.optionalWait = optionalWait
        self.logger = logger
    }

    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let syncer = self.syncer
        let metrics = self.metrics
        let changed: @Sendable (Bool) -> Void = { relevant in
            guard relevant else { return }
            metrics.recordQueued()
            trigger.yield()
        }
        let pods = Self.informer(
            client, set: { (pod: Pod) in await syncer.set(pod) }, remove: { (pod: Pod) in await syncer.remove(pod) },
            changed: changed)
        let namespaces = Self.informer(
            client, set: { (ns: Namespace) in await syncer.set(ns) },
            remove: { (ns: Namespace) in await syncer.remove(ns) }, changed: changed)
        let networkPolicies = Self.informer(
            client, set: { (p: NetworkPolicy) in await syncer.set(p) },
            remove: { (p: NetworkPolicy) in await syncer.remove(p) }, changed: changed)
        let admin = Self.informer(
            client, set: { (p: AdminNetworkPolicy) in await syncer.set(p) },
            remove: { (p: AdminNetworkPolicy) in await syncer.remove(p) }, changed: changed)
        let baseline = Self.informer(
            client, set: { (p: BaselineAdminNetworkPolicy) in await syncer.set(p) },
            remove: { (p: BaselineAdminNetworkPolicy) in await syncer.remove(p) }, changed: changed)
        let nodes = Informer<Node>(client: client)
        let name = nodeName
        let setNode: @Sendable (Node?) -> Void = { node in
            let old = self.nodeObject.withLock { object in
                defer { object = node }
                return object
            }
            if Self.view(old) != Self.view(node) { changed(true) }
        }
        // Every node is a possible admin `nodes` peer; this node's object also gives its pod CIDRs and addresses.
        nodes.addHandlers(
            Informer<Node>.Handlers(
                onAdd: { node in
                    if node.metadata.name == name { setNode(node) }
                    changed(await syncer.set(node))
                },
                onUpdate: { _, new in
                    if new.metadata.name == name { setNode(new) }
                    changed(await syncer.set(new))
                },
                onDelete: { node in
                    if node.metadata.name == name { setNode(nil) }
                    changed(await syncer.remove(node))
                }))

        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await pods.run() }
                group.addTask { try await namespaces.run() }
                group.addTask { try await networkPolicies.run() }
                group.addTask { try await admin.run() }
                group.addTask { try await baseline.run() }
                group.addTask { try await nodes.run() }
                try await self.waitForSync(pods, kind: "Pod")
                try await self.waitForSync(namespaces, kind: "Namespace")
                try await self.waitForSync(networkPolicies, kind: "NetworkPolicy")
                try await self.waitForSync(nodes, kind: "Node")
                try await self.waitForSync(admin, kind: "AdminNetworkPolicy", optional: true)
                try await self.waitForSync(baseline, kind: "BaselineAdminNetworkPolicy", optional: true)
                self.logger.info(
                    "synced policy informers; enforcing", metadata: ["node": "\(self.nodeName)"])
                group.addTask {
                    // The local addresses change without an event (CNI adds the bridge address with the first pod).
                    while true {
                        try await Task.sleep(for: self.addressInterval)
                        trigger.yield()
                    }
                }
                trigger.yield()
                for await _ in triggers {
                    await self.syncUntilDone()
                    try await Task.sleep(for: self.minimumInterval)
                }
            }
        }
    }

    /// Returns once `informer` has synced; while its list keeps failing, logs why every `optionalWait`. An
    /// `optional` kind (the admin policies) returns at once when the API server does not serve it (404, 403), and
    /// after `optionalWait` of failures otherwise (an object that does not decode fails the whole list): enforcing
    /// the other kinds beats enforcing nothing. Its informer keeps trying; what it lists later is enforced then.
    private func waitForSync<T: KubeObject>(_ informer: Informer<T>, kind: String, optional: Bool = false)
        async throws
    {
        let clock = ContinuousClock()
        var since = clock.now
        while !informer.hasSynced {
            if let error = informer.lastError {
                if optional, let api = error as? KubeAPIError, api.isNotFound || api.httpStatus == 403 {
                    logger.warning(
                        "\(kind) is not served by the API server: enforcing none (the informer keeps trying)",
                        metadata: ["error": "\(error)"])
                    metrics.recordUnsynced(kind)
                    return
                }
                if clock.now - since >= optionalWait {
                    since = clock.now
                    if optional {
                        logger.error(
                            "listing \(kind) keeps failing: enforcing none until it succeeds",
                            metadata: ["error": "\(error)"])
                        metrics.recordUnsynced(kind)
                        return
                    }
                    logger.error(
                        "listing \(kind) keeps failing: no policy is enforced until it succeeds",
                        metadata: ["error": "\(error)"])
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// An informer whose adds and updates go to `set` and deletes to `remove`, each followed by `changed` with
    /// whether the syncer saw a change.
    private static func informer<T: KubeObject>(
        _ client: KubeClient, set: @escaping @Sendable (T) async -> Bool,
        remove: @escaping @Sendable (T) async -> Bool, changed: @escaping @Sendable (Bool) -> Void
    ) -> Informer<T> {
        let informer = Informer<T>(client: client)
        informer.addHandlers(
            Informer<T>.Handlers(
                onAdd: { changed(await set($0)) },
                onUpdate: { _, new in changed(await set(new)) },
                onDelete: { changed(await remove($0)) }))
        return informer
    }

    /// What the enforcer reads of the Node: pod CIDRs and addresses.
    struct NodeView: Equatable {
        var podCIDRs: [String]
        var addresses: [String]
    }

    static func view(_ node: Node?) -> NodeView? {
        guard let node else { return nil }
        return NodeView(
            podCIDRs: node.spec?.podCIDRs ?? node.spec?.podCIDR.map { [$0] } ?? [],
            addresses: (node.status?.addresses ?? []).filter { ["InternalIP", "ExternalIP"].contains($0.type) }
                .map(\.address))
    }

    /// The node the syncer enforces for, from the Node object and the namespace's own addresses.
    public static func policyNode(name: String, node: Node?, localAddresses: [IPAddress]) -> PolicyNode {
        let view = Self.view(node)
        var addresses: [IPAddress] = []
        for address in (view?.addresses ?? []).compactMap(IPAddress.init) + localAddresses
        where !addresses.contains(address) {
            addresses.append(address)
        }
        return PolicyNode(
            name: name, addresses: addresses.sorted { $0.description < $1.description },
            podCIDRs: (view?.podCIDRs ?? []).compactMap(IPPrefix.init))
    }

    /// One sync (when something changed), retried as a full sync until it succeeds or the task is cancelled.
    private func syncUntilDone() async {
        while !Task.isCancelled {
            let start = ContinuousClock.now
            do {
                let local: [IPAddress]
                do {
                    local = try localAddresses()
                } catch {
                    logger.warning(
                        "cannot read the node's addresses; using the Node object's", metadata: ["error": "\(error)"])
                    local = []
                }
                let node = Self.policyNode(name: nodeName, node: nodeObject.withLock { $0 }, localAddresses: local)
                await syncer.setNode(node)
                guard await syncer.hasChanges else { return }
                let report = try await syncer.sync()
                let duration = ContinuousClock.now - start
                metrics.recordSuccess(report, duration: duration)
                log(report, duration: duration)
                return
            } catch {
                metrics.recordFailure(error)
                logger.error("network policy sync failed, retrying as a full sync: \(error)")
                try? await Task.sleep(for: retryInterval)
            }
        }
    }

    private func log(_ report: PolicySyncer.Report, duration: Duration) {
        // Each sync compiles everything: a bad policy is skipped every time, logged when the list changes.
        let changed = lastSkipped.withLock { last in
            defer { last = report.skipped }
            return last != report.skipped
        }
        if changed {
            for skipped in report.skipped { logger.warning("network policy input skipped: \(skipped)") }
        }
        if report.operations > 0 {
            logger.debug(
                "synced network policies",
                metadata: [
                    "full": "\(report.full)", "operations": "\(report.operations)", "groups": "\(report.groups)",
                    "localPods": "\(report.localPods)", "duration": "\(duration)",
                ])
        }
    }
}
