/// The route a request matched: which object and rule, the host and path it matched on, its filters and its
/// weighted backends.
public struct MatchedRoute: Sendable, Hashable {
    /// The object (and rule) a route comes from, for logs, metrics and status.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// An Ingress path (`rule`, `path` indices) or, both `nil`, its defaultBackend.
        case ingress(ObjectKey, rule: Int?, path: Int?)
        case httpRoute(ObjectKey, rule: Int)

        public var description: String {
            switch self {
            case .ingress(let key, let rule?, let path?): return "ingress/\(key) rule \(rule) path \(path)"
            case .ingress(let key, _, _): return "ingress/\(key) defaultBackend"
            case .httpRoute(let key, let rule): return "httproute/\(key) rule \(rule)"
            }
        }
    }

    public var source: Source
    public var host: HostPattern
    public var path: PathMatch
    public var filters: [RouteFilter]
    public var backends: [RouteBackend]

    public init(
        source: Source, host: HostPattern, path: PathMatch, filters: [RouteFilter] = [], backends: [RouteBackend]
    ) {
        self.source = source
        self.host = host
        self.path = path
        self.filters = filters
        self.backends = backends
    }

    /// The PathPrefix value the request matched, which ReplacePrefixMatch replaces.
    var matchedPrefix: String? { if case .prefix(let value) = path { value } else { nil } }

    /// What to do with `request`: apply the rule's filters in order (a RequestRedirect answers at once), pick a
    /// backend by weight with `draw` (see `WeightedPick`), answer with its failure or apply its filters and
    /// forward.
    public func decide(_ request: RoutingRequest, draw: UInt64) -> RouteDecision {
        var upstream = UpstreamRequest(
            host: request.host, path: request.path, query: request.query, headers: request.headers)
        var responseHeaders: [HeaderModifier] = []
        for filter in filters {
            switch filter {
            case .redirect(let redirect):
                return .redirect(
                    status: redirect.statusCode, location: redirect.location(for: request, matchedPrefix: matchedPrefix)
                )
            case .requestHeaders(let modifier): modifier.apply(to: &upstream.headers)
            case .responseHeaders(let modifier): responseHeaders.append(modifier)
            case .rewrite(let rewrite): rewrite.apply(to: &upstream, matchedPrefix: matchedPrefix)
            }
        }
        guard let index = WeightedPick.index(weights: backends.map(\.weight), draw: draw) else {
            return .reject(status: 500, reason: "\(source) has no backend to send to")
        }
        let backend = backends[index]
        let endpoints: [BackendEndpoint]
        switch backend.endpoints {
        case .failure(let failure): return .reject(status: failure.status, reason: failure.message)
        case .success(let list): endpoints = list
        }
        for filter in backend.filters {
            switch filter {
            case .requestHeaders(let modifier): modifier.apply(to: &upstream.headers)
            case .responseHeaders(let modifier): responseHeaders.append(modifier)
            case .rewrite(let rewrite): rewrite.apply(to: &upstream, matchedPrefix: matchedPrefix)
            case .redirect: break  // not compiled for backendRefs
            }
        }
        return .forward(
            Forward(
                source: source, backend: backend.name, endpoints: endpoints, request: upstream,
                responseHeaders: responseHeaders))
    }
}
