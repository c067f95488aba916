/// One backend of a matched route: a Service port with its weight, resolved to ready endpoints or to the reason
/// it cannot take requests, and (Gateway API) the filters of its backendRef.
public struct RouteBackend: Sendable, Hashable, CustomStringConvertible {
    /// `namespace/service:port`.
    public var name: String
    /// Positive; backendRefs of weight 0 are left out of the route.
    public var weight: Int
    public var endpoints: Result<[BackendEndpoint], BackendFailure>
    public var filters: [RouteFilter]

    public init(
        name: String, weight: Int = 1, endpoints: Result<[BackendEndpoint], BackendFailure>,
        filters: [RouteFilter] = []
    ) {
        self.name = name
        self.weight = weight
        self.endpoints = endpoints
        self.filters = filters
    }

    public var description: String {
        switch endpoints {
        case .success(let list): return "\(name) ×\(weight) → \(list.map(\.description).joined(separator: ","))"
        case .failure(let failure): return "\(name) ×\(weight): \(failure)"
        }
    }
}
