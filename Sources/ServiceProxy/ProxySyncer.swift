import Dispatch
import Glibc
import KubeModel
import NFTables
import Synchronization
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
        var skipped: [ServicePlanner.Skipped] = []
        // Changed in place, not copied: copying the state of 10,000 services cost more than the sync itself. A
        // failed transaction leaves it ahead of the kernel, and the full sync that follows rebuilds it.
        if full { state.reset() }
        var stale: [StaleUDPFlow] = []
        var tx = Transaction()
        let sortedIDs = ids.sorted()
        let planned = Self.plan(
            sortedIDs, services: services, slices: slices, clusterIPUsers: clusterIPUsers, node: node,
            ruleset: ruleset)
        if full {
            state.reserveCapacity(services: ids.count, elements: planned.reduce(0) { $0 + $1.objects.elements.count })
        }
        for (id, work) in zip(sortedIDs, planned) {
            skipped += work.skipped
            healthChecksByService[id] = work.healthCheck
            tx.append(contentsOf: state.replace(service: id, with: work.objects))
            stale += (udpFlows[id] ?? []).subtracting(work.flows)
            udpFlows[id] = work.flows.isEmpty ? nil : work.flows
        }
        var operations = tx.count
        do {
            if full {
                operations = try applyFullSync(tx)
            } else if !tx.isEmpty {
                try backend.apply(tx)
            }
        } catch {
            needsFullSync = true
            pendingStale += stale
            throw error
        }
        stale += pendingStale
        pendingStale = []
        dirty = []
        needsFullSync = false
        var report = Report(full: full, services: ids.count, operations: operations, skipped: skipped)
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

    /// What one service needs programmed, planned apart from the kernel state (so services can be planned in
    /// parallel).
    struct PlannedService: Sendable {
        var objects = OwnedObjects()
        var flows = Set<StaleUDPFlow>()
        var healthCheck: HealthCheck?
        var skipped: [ServicePlanner.Skipped] = []
    }

    /// Plans `ids` (a service that is gone plans to nothing), in order; many services are split over the CPUs
    /// (planning is pure, and a full sync of 10,000 services spends most of its own time here).
    static func plan(
        _ ids: [String], services: [String: Service], slices: [String: [String: EndpointSlice]],
        clusterIPUsers: [IPAddress: Int], node: ProxyNode, ruleset: ProxyRuleset
    ) -> [PlannedService] {
        let planner = ServicePlanner(node: node)
        @Sendable func plan(_ id: String) -> PlannedService {
            guard let service = services[id] else { return PlannedService() }
            let result = planner.plan(
                services: [service], slices: Array((slices[id] ?? [:]).values),
                isClusterIP: { clusterIPUsers[$0] != nil })
            let preferClose = prefersClose(service) ? Set(result.plans.map(\.key)) : []
            return PlannedService(
                objects: ruleset.objects(result.plans, node: node, preferClose: preferClose),
                flows: udpFlows(result.plans, node: node, preferClose: preferClose),
                healthCheck: healthCheck(service, plans: result.plans, node: node), skipped: result.skipped)
        }
        let workers = min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), ids.count / 500)
        guard workers > 1 else { return ids.map(plan) }
        let parts = Mutex([[PlannedService]](repeating: [], count: workers))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (ids.count * worker / workers)..<(ids.count * (worker + 1) / workers)
            let part = ids[range].map(plan)
            parts.withLock { $0[worker] = part }
        }
        return parts.withLock { $0.flatMap { $0 } }
    }

    /// Programs the whole table; `services` holds every service's objects as adds (from an empty state). Returns
    /// how many operations that was.
    ///
    /// Elements are nearly all of a big table (100,000 at 10,000 services), and nft's parser costs ~25 µs apiece,
    /// so they go to the kernel in one netlink batch (`replaceElements`) that flushes every set of the skeleton and
    /// fills it again — one kernel transaction. The table's comment names its skeleton (`ProxyRuleset.skeleton`):
    /// - No table: the skeleton and the services' own chains and sets (text), then every element. Nothing was
    ///   served before, so the two steps need not be one.
    /// - The table with this skeleton: first the services' own sets and chains that are missing are made and
    ///   those that exist are rewritten (text; a new one is not referenced yet; an existing one's name says what
    ///   it is for), then every element is replaced in one batch — the switch, atomic —, then the owned chains and
    ///   sets that no service uses any more are deleted. Each step leaves a table that serves every service.
    /// - A table with another skeleton (another version, other cluster CIDRs): replaced whole in one text
    ///   transaction (atomic, but nft parses every element).
    private func applyFullSync(_ services: Transaction) throws -> Int {
        let skeleton = ruleset.skeleton()
        var owned = Transaction()
        var elements: [Element] = []
        for operation in services.operations {
            if operation.verb == .add, case .element(let element) = operation.object {
                elements.append(element)
            } else {
                owned.append(operation)
            }
        }
        let sets = skeleton.operations.compactMap { if case .set(let set) = $0.object { set } else { nil } }
        let comment = skeleton.operations.lazy.compactMap {
            if case .table(let t) = $0.object { t.comment } else { nil }
        }
        .first
        guard let info = try backend.tableInfo(family: .inet, table: ProxyRuleset.table) else {
            var tx = skeleton
            tx.append(contentsOf: owned)
            try backend.apply(tx)
            try backend.replaceElements(of: sets, with: elements)
            return tx.count + sets.count + elements.count
        }
        guard info.comment == comment else {
            let tx = ruleset.replacingTable(services)
            try backend.apply(tx)
            return tx.count
        }
        var prepare = Transaction()
        var wantedChains = Set<String>()
        var wantedSets = Set<String>()
        for operation in owned.operations {
            switch operation.object {
            case .set(let set):
                wantedSets.insert(set.name)
                if !info.sets.contains(set.name) { prepare.append(operation) }
            case .chain(let chain):
                wantedChains.insert(chain.name)
                if info.chains.contains(chain.name) { prepare.flush(chain) } else { prepare.append(operation) }
            default:
                prepare.append(operation)
            }
        }
        if !prepare.isEmpty { try backend.apply(prepare) }
        try backend.replaceElements(of: sets, with: elements)
        var skeletonChains = Set<String>()
        for operation in skeleton.operations {
            if case .chain(let chain) = operation.object { skeletonChains.insert(chain.name) }
        }
        let staleChains = info.chains.subtracting(skeletonChains).subtracting(wantedChains).sorted()
        let staleSets = info.sets.subtracting(sets.map(\.name)).subtracting(wantedSets).sorted()
        var cleanup = Transaction()
        for name in staleChains { cleanup.flush(Chain(family: .inet, table: ProxyRuleset.table, name: name)) }
        for name in staleChains { cleanup.delete(Chain(family: .inet, table: ProxyRuleset.table, name: name)) }
        for name in staleSets {
            // A delete names the set only; the type is there because a set must have one ("map" vs "set" matters).
            cleanup.delete(
                NFTSet(
                    family: .inet, table: ProxyRuleset.table, name: name, type: "ipv4_addr",
                    mapType: info.maps.contains(name) ? "verdict" : nil))
        }
        if !cleanup.isEmpty { try backend.apply(cleanup) }
        return prepare.count + sets.count + elements.count + cleanup.count
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
