import KubeModel

/// An HTTPRoute checked and compiled independently of its parents: its hostnames, the rules Weft can serve
/// (a rule using anything unsupported — a RegularExpression match, RequestMirror, an unknown filter — is dropped
/// whole, the others kept), and the backendRefs that do not resolve.
struct CompiledHTTPRoute: Sendable {
    struct Rule: Sendable {
        var index: Int
        var matches: [RequestMatch]
        var filters: [RouteFilter]
        var backends: [RouteBackend]
    }

    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    var key: ObjectKey
    var created: String?
    var generation: Int64?
    /// Empty: every host.
    var hostnames: [HostPattern] = []
    var rules: [Rule] = []
    /// `rule N: why`, for the PartiallyInvalid condition and `skipped`.
    var dropped: [String] = []
    /// The backendRefs that do not resolve (ResolvedRefs False); the first one's reason is the condition's.
    var unresolved: [StatusProblem] = []
    /// Accepted is False with this whatever the parent.
    var notAccepted: StatusProblem?

    init(_ route: HTTPRoute, resolver: BackendResolver) {
        key = ObjectKey(route.metadata)
        created = route.metadata.creationTimestamp
        generation = route.metadata.generation
        for text in route.spec.hostnames ?? [] {
            if let host = HostPattern.gateway(text), host != .any {
                hostnames.append(host)
            } else {
                dropped.append("hostname \"\(text)\" is not a valid hostname")
            }
        }
        if hostnames.isEmpty, !(route.spec.hostnames ?? []).isEmpty {
            notAccepted = StatusProblem("UnsupportedValue", "no valid hostname")
        }
        // The API defaults an absent rules list to one rule matching every path.
        var reasons = Set<String>()
        for (index, rule) in (route.spec.rules ?? [HTTPRouteRule()]).enumerated() {
            switch compile(rule, index: index, resolver: resolver) {
            case .success(let compiled): rules.append(compiled)
            case .failure(let problem):
                dropped.append("rule \(index): \(problem.message)")
                reasons.insert(problem.reason)
            }
        }
        if rules.isEmpty, notAccepted == nil {
            notAccepted = StatusProblem(
                reasons == ["IncompatibleFilters"] ? "IncompatibleFilters" : "UnsupportedValue",
                "no rule can be served: " + dropped.joined(separator: "; "))
        }
    }

    private mutating func compile(_ rule: HTTPRouteRule, index: Int, resolver: BackendResolver)
        -> Result<Rule, StatusProblem>
    {
        // The API defaults absent matches to one PathPrefix `/` match.
        let given = (rule.matches ?? []).isEmpty ? [HTTPRouteMatch()] : rule.matches ?? []
        var matches: [RequestMatch] = []
        for match in given {
            switch Self.requestMatch(match) {
            case .success(let compiled): matches.append(compiled)
            case .failure(let problem): return .failure(problem)
            }
        }
        let filters: [RouteFilter]
        switch Self.filters(rule.filters ?? [], matches: given, allowRedirect: true) {
        case .success(let compiled): filters = compiled
        case .failure(let problem): return .failure(problem)
        }
        var backendFilters: [[RouteFilter]] = []
        for ref in rule.backendRefs ?? [] {
            switch Self.filters(ref.filters ?? [], matches: given, allowRedirect: false) {
            case .success(let compiled): backendFilters.append(compiled)
            case .failure(let problem): return .failure(problem)
            }
        }
        var backends: [RouteBackend] = []
        for (ref, filters) in zip(rule.backendRefs ?? [], backendFilters) {
            var backend = backend(ref, resolver: resolver)
            backend.filters = filters
            if backend.weight > 0 { backends.append(backend) }
        }
        return .success(Rule(index: index, matches: matches, filters: filters, backends: backends))
    }

    /// A match of Exact or PathPrefix paths and Exact headers and query parameters; RegularExpression is not
    /// supported. Of repeated header or parameter names only the first counts (HTTPHeaderMatch.name).
    static func requestMatch(_ match: HTTPRouteMatch) -> Result<RequestMatch, StatusProblem> {
        let value = match.path?.value ?? "/"
        let path: PathMatch
        switch match.path?.type ?? "PathPrefix" {
        case "Exact": path = .exact(value)
        case "PathPrefix": path = .prefix(value)
        case let type: return .failure(StatusProblem("UnsupportedValue", "\(type) path matches are not supported"))
        }
        guard value.hasPrefix("/"), !value.contains("//") else {
            return .failure(StatusProblem("UnsupportedValue", "path \"\(value)\" is not a valid absolute path"))
        }
        if let method = match.method, !methods.contains(method) {
            return .failure(StatusProblem("UnsupportedValue", "method \(method) is not supported"))
        }
        var headers: [String: String] = [:]
        for header in match.headers ?? [] {
            guard (header.type ?? "Exact") == "Exact" else {
                return .failure(
                    StatusProblem("UnsupportedValue", "\(header.type ?? "") header matches are not supported"))
            }
            if headers[header.name.lowercased()] == nil { headers[header.name.lowercased()] = header.value }
        }
        var parameters: [String: String] = [:]
        for parameter in match.queryParams ?? [] {
            guard (parameter.type ?? "Exact") == "Exact" else {
                return .failure(
                    StatusProblem("UnsupportedValue", "\(parameter.type ?? "") query param matches are not supported"))
            }
            if parameters[parameter.name] == nil { parameters[parameter.name] = parameter.value }
        }
        return .success(RequestMatch(path: path, method: match.method, headers: headers, queryParameters: parameters))
    }

    /// The filters Weft implements, in order. ReplacePrefixMatch needs the rule to have exactly one PathPrefix
    /// match (HTTPRouteRule validation); RequestRedirect and URLRewrite cannot be combined.
    static func filters(_ filters: [HTTPRouteFilter], matches: [HTTPRouteMatch], allowRedirect: Bool)
        -> Result<[RouteFilter], StatusProblem>
    {
        let types = Set(filters.map(\.type))
        if types.contains("RequestRedirect"), types.contains("URLRewrite") {
            return .failure(StatusProblem("IncompatibleFilters", "RequestRedirect and URLRewrite cannot be combined"))
        }
        let onePrefixMatch = matches.count == 1 && (matches[0].path?.type ?? "PathPrefix") == "PathPrefix"
        var compiled: [RouteFilter] = []
        for filter in filters {
            switch Self.filter(filter, onePrefixMatch: onePrefixMatch, allowRedirect: allowRedirect) {
            case .success(let one): compiled.append(one)
            case .failure(let problem): return .failure(problem)
            }
        }
        return .success(compiled)
    }

    private static func filter(_ filter: HTTPRouteFilter, onePrefixMatch: Bool, allowRedirect: Bool)
        -> Result<RouteFilter, StatusProblem>
    {
        let unsupported = StatusProblem("UnsupportedValue", "filter \(filter.type) is not supported here")
        func path(_ modifier: HTTPPathModifier?) -> Result<PathModifier?, StatusProblem> {
            guard let modifier else { return .success(nil) }
            guard let path = PathModifier(modifier) else {
                return .failure(StatusProblem("UnsupportedValue", "path modifier \(modifier.type) is not valid"))
            }
            if case .replacePrefixMatch = path, !onePrefixMatch {
                return .failure(
                    StatusProblem("UnsupportedValue", "ReplacePrefixMatch needs exactly one PathPrefix match"))
            }
            return .success(path)
        }
        switch filter.type {
        case "RequestHeaderModifier":
            guard let modifier = filter.requestHeaderModifier else { return .failure(unsupported) }
            return .success(.requestHeaders(HeaderModifier(modifier)))
        case "ResponseHeaderModifier":
            guard let modifier = filter.responseHeaderModifier else { return .failure(unsupported) }
            return .success(.responseHeaders(HeaderModifier(modifier)))
        case "URLRewrite":
            guard let rewrite = filter.urlRewrite else { return .failure(unsupported) }
            return path(rewrite.path).map { .rewrite(URLRewrite(hostname: rewrite.hostname, path: $0)) }
        case "RequestRedirect" where allowRedirect:
            guard let redirect = filter.requestRedirect else { return .failure(unsupported) }
            let scheme = redirect.scheme.flatMap { RoutingRequest.Scheme(rawValue: $0) }
            let status = redirect.statusCode ?? 302
            guard scheme != nil || redirect.scheme == nil, [301, 302, 303, 307, 308].contains(status) else {
                return .failure(
                    StatusProblem("UnsupportedValue", "RequestRedirect has an unsupported scheme or status"))
            }
            return path(redirect.path).map {
                .redirect(
                    RequestRedirect(
                        scheme: scheme, hostname: redirect.hostname, port: redirect.port, path: $0, statusCode: status))
            }
        default:
            return .failure(unsupported)
        }
    }

    /// A backendRef: a Service in the route's namespace with a port. An invalid one is answered with 500 and
    /// reported in ResolvedRefs (BackendNotFound, InvalidKind, RefNotPermitted, UnsupportedProtocol); a valid one
    /// without ready endpoints with 503.
    private mutating func backend(_ ref: HTTPBackendRef, resolver: BackendResolver) -> RouteBackend {
        let service = ObjectKey(namespace: ref.namespace ?? key.namespace, name: ref.name)
        let weight = ref.weight ?? 1
        func invalid(_ kind: BackendFailure.Kind, _ reason: String, _ message: String, name: String) -> RouteBackend {
            unresolved.append(StatusProblem(reason, message))
            return RouteBackend(
                name: name, weight: weight, endpoints: .failure(BackendFailure(kind, message, status: 500)))
        }
        guard (ref.group ?? "") == "", (ref.kind ?? "Service") == "Service" else {
            return invalid(
                .unsupported, "InvalidKind",
                "backendRef \(ref.group ?? "")/\(ref.kind ?? "")/\(ref.name) is not a Service",
                name: ref.name)
        }
        guard service.namespace == key.namespace else {
            return invalid(
                .notPermitted, "RefNotPermitted", "backendRef \(service) is in another namespace", name: "\(service)")
        }
        guard let port = ref.port else {
            return invalid(.notFound, "BackendNotFound", "backendRef \(service) has no port", name: "\(service)")
        }
        let resolved = resolver.resolve(service, port: .number(port))
        switch resolved {
        case .failure(let failure) where failure.kind == .notFound:
            return invalid(.notFound, "BackendNotFound", failure.message, name: "\(service):\(port)")
        case .failure(let failure) where failure.kind == .unsupported:
            return invalid(.unsupported, "UnsupportedProtocol", failure.message, name: "\(service):\(port)")
        default:
            return RouteBackend(name: "\(service):\(port)", weight: weight, endpoints: resolved)
        }
    }
}
