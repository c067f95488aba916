import KubeModel
import NFTables
import WeftNet

/// The proxy's sync: holds the Services and EndpointSlices it was told about, remembers which services changed,
/// and on `sync()` programs the kernel in one transaction — the whole table the first time and after any
/// failure (a full sync), else only the element changes of the services that changed (a partial sync).
public actor ProxySyncer {
    public let node: ProxyNode
    public let ruleset: ProxyRuleset
    private let backend: any NFTablesBackend
    private var services: [String: Service] = [:]
    private var slices: [String: [String: EndpointSlice]] = [:]
    private var dirty: Set<String> = []
    private var needsFullSync = true
    private var state = ProxyElementState()

    /// What one sync did.
    public struct Report: Sendable, Equatable {
        public var full: Bool
        /// The services whose elements were recomputed.
        public var services: Int
        /// The operations in the transaction (0: nothing to do, nothing applied).
        public var operations: Int
        /// What was left out, and why.
        public var skipped: [ServicePlanner.Skipped]
    }

    public init(node: ProxyNode, clusterCIDRs: [IPPrefix], backend: any NFTablesBackend) {
        self.node = node
        ruleset = ProxyRuleset(clusterCIDRs: clusterCIDRs)
        self.backend = backend
    }

    static func serviceID(namespace: String?, name: String?) -> String { "\(namespace ?? "default")/\(name ?? "")" }

    public func set(_ service: Service) {
        let id = Self.serviceID(namespace: service.metadata.namespace, name: service.metadata.name)
        services[id] = service
        dirty.insert(id)
    }

    public func remove(_ service: Service) {
        let id = Self.serviceID(namespace: service.metadata.namespace, name: service.metadata.name)
        services[id] = nil
        dirty.insert(id)
    }

    public func set(_ slice: EndpointSlice) {
        guard let name = slice.serviceName else { return }
        let id = Self.serviceID(namespace: slice.metadata.namespace, name: name)
        slices[id, default: [:]][slice.metadata.name ?? ""] = slice
        dirty.insert(id)
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

    /// Programs the kernel. A failed transaction changes nothing in the kernel; the next sync is then a full one.
    @discardableResult
    public func sync() throws -> Report {
        let full = needsFullSync
        let ids = full ? Set(services.keys) : dirty
        let planner = ServicePlanner(node: node)
        var skipped: [ServicePlanner.Skipped] = []
        var next = full ? ProxyElementState() : state
        var tx = Transaction()
        for id in ids.sorted() {
            var elements: [Element] = []
            if let service = services[id] {
                let result = planner.plan(services: [service], slices: Array((slices[id] ?? [:]).values))
                skipped += result.skipped
                let preferClose = Self.prefersClose(service) ? Set(result.plans.map(\.key)) : []
                elements = ruleset.elements(result.plans, node: node, preferClose: preferClose)
            }
            tx.append(contentsOf: next.replace(service: id, with: elements))
        }
        if full {
            // The whole table in one transaction: elements are all adds on the fresh table.
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
                throw error
            }
        }
        state = next
        dirty = []
        needsFullSync = false
        return Report(full: full, services: ids.count, operations: tx.count, skipped: skipped)
    }

    /// `trafficDistribution: PreferClose`, or the older `service.kubernetes.io/topology-mode: Auto` annotation.
    static func prefersClose(_ service: Service) -> Bool {
        service.spec?.trafficDistribution == "PreferClose"
            || ["auto", "Auto"].contains(service.metadata.annotations?["service.kubernetes.io/topology-mode"] ?? "")
    }
}
