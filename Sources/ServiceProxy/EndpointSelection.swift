/// Which endpoints a service port's traffic goes to, as kube-proxy's `CategorizeEndpoints` decides
/// (pkg/proxy/topology.go): cluster traffic uses the ready endpoints (narrowed to the node's zone by topology
/// hints when `trafficDistribution: PreferClose` and every ready endpoint has hints), falling back to endpoints
/// that are serving and terminating when none is ready; `Local` policies use this node's endpoints with the same
/// fallback.
public struct EndpointSelection: Sendable, Equatable {
    /// For traffic under the `Cluster` policies.
    public var cluster: [ServiceEndpoint] = []
    /// For traffic under the `Local` policies (empty unless the service uses one).
    public var local: [ServiceEndpoint] = []
    /// Whether any endpoint could take traffic (ready, or serving and terminating), anywhere. Without one the
    /// service rejects at once; with some but none here, `Local` traffic is dropped instead.
    public var hasAnyEndpoints = false

    public init(cluster: [ServiceEndpoint] = [], local: [ServiceEndpoint] = [], hasAnyEndpoints: Bool = false) {
        self.cluster = cluster
        self.local = local
        self.hasAnyEndpoints = hasAnyEndpoints
    }

    /// Selects for `plan` on a node in `zone`; `preferClose` is the service's `trafficDistribution: PreferClose`
    /// (or the topology-aware-hints annotation set to Auto).
    public static func select(_ plan: ServicePortPlan, zone: String?, preferClose: Bool) -> EndpointSelection {
        let endpoints = plan.endpoints
        var selection = EndpointSelection()
        let usesCluster = !plan.internalPolicyLocal || (plan.isExternallyAccessible && !plan.externalPolicyLocal)
        let usesLocal = plan.internalPolicyLocal || (plan.isExternallyAccessible && plan.externalPolicyLocal)
        if usesCluster {
            let topology = preferClose && canUseTopology(endpoints, zone: zone)
            selection.cluster = endpoints.filter { $0.ready && (!topology || $0.zoneHints.contains(zone ?? "")) }
            if selection.cluster.isEmpty { selection.cluster = endpoints.filter { $0.serving && $0.terminating } }
            selection.hasAnyEndpoints = !selection.cluster.isEmpty
        }
        if usesLocal {
            selection.hasAnyEndpoints =
                selection.hasAnyEndpoints || endpoints.contains { $0.ready || ($0.serving && $0.terminating) }
            let readyHere = endpoints.filter { $0.isLocal && $0.ready }
            selection.local =
                readyHere.isEmpty ? endpoints.filter { $0.isLocal && $0.serving && $0.terminating } : readyHere
        }
        return selection
    }

    /// Topology hints apply only when the node has a zone, every ready endpoint carries zone hints, and one of
    /// them is for this zone (kube-proxy's `canUseTopology`).
    static func canUseTopology(_ endpoints: [ServiceEndpoint], zone: String?) -> Bool {
        guard let zone, !zone.isEmpty else { return false }
        var hasEndpointForZone = false
        for endpoint in endpoints where endpoint.ready {
            if endpoint.zoneHints.isEmpty { return false }
            if endpoint.zoneHints.contains(zone) { hasEndpointForZone = true }
        }
        return hasEndpointForZone
    }
}
