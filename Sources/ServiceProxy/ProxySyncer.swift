import KubeModel
import NFTables
import WeftNet

/// The proxy's sync: holds the Services and EndpointSlices it was told about, remembers which services changed,
/// and on `sync()` programs the kernel in one transaction — the whole table the first time and after any
/// failure (a full sync), else only the changes of the services that changed (a partial sync). After a sync it
/// deletes the conntrack entries of UDP flows whose endpoint no longer gets their traffic.
public actor ProxySyncer {
    public let node: ProxyNode
    public let ruleset: ProxyRuleset
    private let backend: any NFTablesBackend
    private let conntrack: (any ConntrackCleaner)?
    private var services: [String: Service] = [:]
    private var slices: [String: [String: EndpointSlice]] = [:]
    private var dirty: Set<String> = []
    private var triggerTimes: [String] = []
    private var needsFullSync = true
    private var state = ProxyKernelState()
    /// Per service: the UDP flows (frontend → endpoint) its frontends send new traffic to, as last programmed.
    private var udpFlows: [String: Set<StaleUDPFlow>] = [:]
    private var healthChecksByService: [String: HealthCheck] = [:]
    /// Stale flows found by a sync whose transaction failed: deleted after the next sync that succeeds.
    private var pendingStale: [StaleUDPFlow] = []
    /// How many services have each cluster IP (a load-balancer IP that is also one is skipped).
    private var clusterIPUsers: [IPAddress: Int] = [:]

    /// What one sync did.
    public struct Report: Sendable, Equatable {
        public var full: Bool
        /// The services whose objects were recomputed.
        public var services: Int
        /// The operations in the transaction (0: nothing to do, nothing applied).
        public var operations: Int
        /// What was left out, and why.
        public var skipped: [ServicePlanner.Skipped]
        /// The `endpoints.kubernetes.io/last-change-trigger-time` of the EndpointSlice changes this sync
        /// programmed (for the network-programming latency).
        public var changeTriggerTimes: [String] = []
        /// The UDP flows whose conntrack entries were deleted, and how many entries that was.
        public var staleFlows: [StaleUDPFlow] = []
        public var conntrackEntriesDeleted = 0
        /// Why deleting conntrack entries failed (the sync itself succeeded).
        public var conntrackError: String?
    }

    /// A service with `externalTrafficPolicy: Local` and a `healthCheckNodePort`: load balancers ask that port
    /// whether this node has endpoints of the service.
    public struct HealthCheck: Sendable, Equatable {
        public var namespace: String
        public var name: String
        public var port: Int
        public var localEndpoints: Int
    }

    public init(
        node: ProxyNode, clusterCIDRs: [IPPrefix], backend: any NFTablesBackend,
        conntrack: (any ConntrackCleaner)? = nil
    ) {
        self.node = node
        ruleset = ProxyRuleset(clusterCIDRs: clusterCIDRs)
        self.backend = backend
        self.conntrack = conntrack
    }

    static func serviceID(namespace: String?, name: String?) -> String { "\(namespace ?? "default")/\(name ?? "")" }

    public func set(_ service: Service) {
        let id = Self.serviceID(namespace: service.metadata.namespace, name: service.metadata.name)
        countClusterIPs(of: services[id], by: -1)
        services[id] = service
        countClusterIPs(of: service, by: 1)
        dirty.insert(id)
    }

    public func remove(_ service: Service) {
        let id = Self.serviceID(namespace: service.metadata.namespace, name: service.metadata.name)
        countClusterIPs(of: services[id], by: -1)
        services[id] = nil
        dirty.insert(id)
    }

    private func countClusterIPs(of service: Service?, by delta: Int) {
        guard let service else { return }
        for address in ServicePlanner.clusterIPs(service).compactMap(IPAddress.init) {
            let count = (clusterIPUsers[address] ?? 0) + delta
            clusterIPUsers[address] = count > 0 ? count : nil
        }
    }

    public func set(_ slice: EndpointSlice) {
        guard let name = slice.serviceName else { return }
        let id = Self.serviceID(namespace: slice.metadata.namespace, name: name)
        slices[id, default: [:]][slice.metadata.name ?? ""] = slice
        dirty.insert(id)
        if let time = slice.metadata.annotations?["endpoints.kubernetes.io/last-change-trigger-time"] {
            triggerTimes.append(time)
        }
    }

    public func remove(_ slice: EndpointSlice) {
        guard let name = slice.serviceName else { return }
        let id = Self.serviceID(namespace: slice.metadata.namespace, name: name)
        slices[id]?[slice.metadata.name ?? ""] = nil
        if slices[id]?.isEmpty == true { slices[id] = nil }
        dirty.insert(id)
    }

    /// Whether a sync has something to do.
    public var hasChanges: Bool { needsFullSync || !dirty.isEmpty }

    /// The health checks of the services as last synced, by port.
    public var healthChecks: [HealthCheck] { healthChecksByService.values.sorted { $0.port < $1.port } }

    /// How many elements of the shared sets and maps, and how many service-owned chains and sets, the table holds.
    public var objectCounts: (elements: Int, owned: Int) { (state.count, state.ownedObjects) }

    /// Programs the kernel. A failed transaction changes nothing in the kernel; the next sync is then a full one.
    @discardableResult
    public func sync() throws -> Report {
        let full = needsFullSync
        let ids = full ? Set(services.keys).union(udpFlows.keys) : dirty
        let planner = ServicePlanner(node: node)
        var skipped: [ServicePlanner.Skipped] = []
        // Changed in place, not copied: copying the state of 10,000 services cost more than the sync itself. A
        // failed transaction leaves it ahead of the kernel, and the full sync that follows rebuilds it.
        if full { state.reset() }
        var stale: [StaleUDPFlow] = []
        var tx = Transaction()
        for id in ids.sorted() {
            var objects = OwnedObjects()
            var flows = Set<StaleUDPFlow>()
            healthChecksByService[id] = nil
            if let service = services[id] {
                let result = planner.plan(
                    services: [service], slices: Array((slices[id] ?? [:]).values),
                    isClusterIP: { self.clusterIPUsers[$0] != nil })
                skipped += result.skipped
                let preferClose = Self.prefersClose(service) ? Set(result.plans.map(\.key)) : []
                objects = ruleset.objects(result.plans, node: node, preferClose: preferClose)
                flows = Self.udpFlows(result.plans, node: node, preferClose: preferClose)
                healthChecksByService[id] = Self.healthCheck(service, plans: result.plans, node: node)
            }
            tx.append(contentsOf: state.replace(service: id, with: objects))
            stale += (udpFlows[id] ?? []).subtracting(flows)
            udpFlows[id] = flows.isEmpty ? nil : flows
        }
        if full {
            // The whole table in one transaction: on the fresh table everything is an add.
            var whole = Transaction()
            whole.deleteIfExists(Table(family: .inet, name: ProxyRuleset.table))
            whole.append(contentsOf: ruleset.skeleton())
            whole.append(contentsOf: tx)
            tx = whole
        }
        if !tx.isEmpty {
            do {
                try backend.apply(tx)
            } catch {
                needsFullSync = true
                pendingStale += stale
                throw error
            }
        }
        stale += pendingStale
        pendingStale = []
        dirty = []
        needsFullSync = false
        var report = Report(full: full, services: ids.count, operations: tx.count, skipped: skipped)
        report.changeTriggerTimes = triggerTimes
        triggerTimes = []
        report.staleFlows = stale.sorted()
        if let conntrack, !stale.isEmpty {
            do {
                report.conntrackEntriesDeleted = try conntrack.delete(report.staleFlows)
            } catch {
                report.conntrackError = String(describing: error)
            }
        }
        return report
    }

    /// The UDP flows new traffic of `plans` may take: each UDP frontend with each endpoint it sends to.
    static func udpFlows(_ plans: [ServicePortPlan], node: ProxyNode, preferClose: Set<ServicePortKey>)
        -> Set<StaleUDPFlow>
    {
        var flows = Set<StaleUDPFlow>()
        for plan in plans where plan.key.protocol == .udp {
            for frontend in ProxyRuleset.frontends(plan, node: node, preferClose: preferClose.contains(plan.key)) {
                for endpoint in frontend.endpoints {
                    flows.insert(
                        StaleUDPFlow(frontend: frontend.address, port: frontend.port, endpoint: endpoint.address))
                }
            }
        }
        return flows
    }

    /// The service's health check, when it has one: the distinct local endpoints its `Local` traffic uses.
    static func healthCheck(_ service: Service, plans: [ServicePortPlan], node: ProxyNode) -> HealthCheck? {
        guard let plan = plans.first(where: { $0.externalPolicyLocal }), let port = plan.healthCheckNodePort,
            port > 0
        else { return nil }
        var local = Set<IPAddress>()
        for plan in plans where plan.externalPolicyLocal {
            local.formUnion(EndpointSelection.select(plan, zone: node.zone, preferClose: false).local.map(\.address))
        }
        return HealthCheck(
            namespace: service.metadata.namespace ?? "default", name: service.metadata.name ?? "", port: port,
            localEndpoints: local.count)
    }

    /// `trafficDistribution: PreferClose`, or the older `service.kubernetes.io/topology-mode: Auto` annotation.
    static func prefersClose(_ service: Service) -> Bool {
        service.spec?.trafficDistribution == "PreferClose"
            || ["auto", "Auto"].contains(service.metadata.annotations?["service.kubernetes.io/topology-mode"] ?? "")
    }
}
