import KubeModel

/// The Ingress half of a `RouteTable`: the Ingresses of Weft's class — `spec.ingressClassName: weft`, the legacy
/// `kubernetes.io/ingress.class` annotation, or no class at all when the `weft` IngressClass is annotated as the
/// default — turned into host groups of path routes, a default backend and TLS hosts.
struct IngressRoutes: Sendable {
    /// The deprecated annotation that named an Ingress's class before `spec.ingressClassName`.
    static let classAnnotation = "kubernetes.io/ingress.class"

    struct TLSHost: Sendable {
        var host: HostPattern
        var secret: ObjectKey
    }

    private(set) var hosts = VirtualHosts()
    private(set) var defaultRoute: MatchedRoute?
    private(set) var certificates: [TLSHost] = []
    private(set) var served: [ObjectKey] = []
    private(set) var skipped: [RouteTable.Skipped] = []

    init(_ objects: RouteTable.Objects, configuration: RouteTable.Configuration, resolver: BackendResolver) {
        let className = configuration.ingressClassName
        let isDefaultClass = objects.ingressClasses.contains { $0.metadata.name == className && $0.isDefault }
        let secrets = Dictionary(objects.secrets.map { (ObjectKey($0.metadata), $0) }) { first, _ in first }
        let ours = objects.ingresses.filter { ingress in
            if let name = ingress.spec?.ingressClassName { return name == className }
            if let name = ingress.metadata.annotations?[Self.classAnnotation] { return name == className }
            return isDefaultClass
        }
        // Oldest first: the first default backend wins, and so does the first TLS entry for a host.
        func order(_ ingress: Ingress) -> (String, ObjectKey) {
            (ingress.metadata.creationTimestamp ?? "~", ObjectKey(ingress.metadata))
        }
        for ingress in ours.sorted(by: { order($0) < order($1) }) {
            add(ingress, resolver: resolver, secrets: secrets)
        }
        hosts.sort()
    }

    private mutating func add(_ ingress: Ingress, resolver: BackendResolver, secrets: [ObjectKey: Secret]) {
        let key = ObjectKey(ingress.metadata)
        let created = ingress.metadata.creationTimestamp
        served.append(key)
        func skip(_ reason: String) { skipped.append(RouteTable.Skipped(object: "ingress/\(key)", reason: reason)) }
        let spec = ingress.spec ?? IngressSpec()
        if let backend = spec.defaultBackend {
            if let existing = defaultRoute {
                skip("defaultBackend ignored: \(existing.source) already provides the default backend")
            } else {
                defaultRoute = MatchedRoute(
                    source: .ingress(key, rule: nil, path: nil), host: .any, path: .prefix("/"),
                    backends: [Self.backend(backend, namespace: key.namespace, resolver: resolver)])
            }
        }
        for (ruleIndex, rule) in (spec.rules ?? []).enumerated() {
            guard let host = HostPattern.ingress(rule.host) else {
                skip("rule \(ruleIndex): host \"\(rule.host ?? "")\" is not a valid host or wildcard")
                continue
            }
            for (pathIndex, path) in (rule.http?.paths ?? []).enumerated() {
                let match: PathMatch
                switch Self.pathMatch(path) {
                case .failure(let problem):
                    skip("rule \(ruleIndex) path \(pathIndex): \(problem.message)")
                    continue
                case .success(let value): match = value
                }
                let route = MatchedRoute(
                    source: .ingress(key, rule: ruleIndex, path: pathIndex), host: host, path: match,
                    backends: [Self.backend(path.backend, namespace: key.namespace, resolver: resolver)])
                hosts.add(
                    VirtualHosts.Entry(
                        match: RequestMatch(path: match),
                        precedence: .ingress(match, created: created, object: key, rule: ruleIndex, path: pathIndex),
                        route: route))
            }
        }
        for (index, tls) in (spec.tls ?? []).enumerated() {
            // Without a secret the hosts keep the default certificate.
            guard let secretName = tls.secretName, !secretName.isEmpty else { continue }
            let secret = ObjectKey(namespace: key.namespace, name: secretName)
            if let problem = CertificateTable.problem(with: secrets[secret], key: secret) {
                skip("tls \(index): \(problem); its hosts get the default certificate")
                continue
            }
            // No hosts: the secret serves handshakes no other host claims.
            for text in (tls.hosts ?? []).isEmpty ? [nil] : (tls.hosts ?? []).map(Optional.some) {
                guard let host = HostPattern.ingress(text) else {
                    skip("tls \(index): host \"\(text ?? "")\" is not a valid host or wildcard")
                    continue
                }
                certificates.append(TLSHost(host: host, secret: secret))
            }
        }
    }

    /// The path's match, or why it is invalid. `ImplementationSpecific` is Weft's `Prefix`; Exact and Prefix paths
    /// are held to kube-apiserver's validation (absolute, no `//`, `/./`, `/../`, `%2f`, no trailing `/.` or `/..`).
    static func pathMatch(_ path: HTTPIngressPath) -> Result<PathMatch, PathProblem> {
        let value = path.path ?? (path.pathType == "ImplementationSpecific" ? "/" : "")
        guard value.hasPrefix("/") else {
            return .failure(PathProblem(message: "path \"\(value)\" must be an absolute path"))
        }
        switch path.pathType {
        case "Exact", "Prefix":
            for part in ["//", "/./", "/../", "%2f", "%2F", "#", "?"] where value.contains(part) {
                return .failure(PathProblem(message: "path \"\(value)\" must not contain \(part)"))
            }
            for end in ["/.", "/.."] where value.hasSuffix(end) {
                return .failure(PathProblem(message: "path \"\(value)\" must not end with \(end)"))
            }
            return .success(path.pathType == "Exact" ? .exact(value) : .prefix(value))
        case "ImplementationSpecific": return .success(.prefix(value))
        case nil: return .failure(PathProblem(message: "pathType is required"))
        case let other?: return .failure(PathProblem(message: "pathType \"\(other)\" is not supported"))
        }
    }

    struct PathProblem: Error {
        var message: String
    }

    /// An Ingress backend: a Service port by number or name. A missing Service, port or endpoint is answered with
    /// 503 when requested; a `resource` backend is not supported.
    static func backend(_ backend: IngressBackend, namespace: String, resolver: BackendResolver) -> RouteBackend {
        guard let service = backend.service else {
            return RouteBackend(
                name: "resource",
                endpoints: .failure(BackendFailure(.unsupported, "resource backends are not supported")))
        }
        let key = ObjectKey(namespace: namespace, name: service.name)
        let selector: BackendResolver.PortSelector
        if let number = service.port?.number {
            selector = .number(number)
        } else if let name = service.port?.name {
            selector = .name(name)
        } else {
            return RouteBackend(
                name: "\(key)", endpoints: .failure(BackendFailure(.notFound, "backend \(key) names no port")))
        }
        return RouteBackend(name: "\(key):\(selector)", endpoints: resolver.resolve(key, port: selector))
    }
}
