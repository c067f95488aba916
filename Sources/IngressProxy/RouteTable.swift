import KubeModel

/// Weft's routing, computed from Ingress and Gateway API objects and the Services and EndpointSlices behind
/// them: for a request, the route and backends (`route`, `decide`); for a TLS handshake, the certificate
/// (`certificate`); for the objects, their status. A value built in one go — values in, values out, no I/O —
/// so the proxy swaps a whole new table in on every change.
///
/// Both APIs share the proxy's ports: on a port with Gateway listeners, their routes are tried first, then (on
/// the Ingress ports) the Ingress rules. What cannot be served is left out with a reason (`skipped`, and the
/// Gateway API status conditions); it never stops the other routes.
public struct RouteTable: Sendable {
    /// `spec.controllerName` of the GatewayClasses Weft implements.
    public static let gatewayControllerName = "weft.dev/gateway-controller"
    /// The IngressClass Weft implements.
    public static let ingressClassName = "weft"

    public struct Configuration: Sendable, Hashable {
        public var ingressClassName: String
        public var gatewayControllerName: String
        /// Where Ingress rules are served over HTTP and HTTPS.
        public var ingressHTTPPort: Int
        public var ingressHTTPSPort: Int

        public init(
            ingressClassName: String = RouteTable.ingressClassName,
            gatewayControllerName: String = RouteTable.gatewayControllerName, ingressHTTPPort: Int = 80,
            ingressHTTPSPort: Int = 443
        ) {
            self.ingressClassName = ingressClassName
            self.gatewayControllerName = gatewayControllerName
            self.ingressHTTPPort = ingressHTTPPort
            self.ingressHTTPSPort = ingressHTTPSPort
        }
    }

    /// The objects a table is built from. Namespaces serve `allowedRoutes` selectors (a namespace not given is
    /// taken to carry only its `kubernetes.io/metadata.name` label); Secrets are checked, not read.
    public struct Objects: Sendable {
        public var ingresses: [Ingress]
        public var ingressClasses: [IngressClass]
        public var gatewayClasses: [GatewayClass]
        public var gateways: [Gateway]
        public var httpRoutes: [HTTPRoute]
        public var services: [Service]
        public var endpointSlices: [EndpointSlice]
        public var namespaces: [Namespace]
        public var secrets: [Secret]

        public init(
            ingresses: [Ingress] = [], ingressClasses: [IngressClass] = [], gatewayClasses: [GatewayClass] = [],
            gateways: [Gateway] = [], httpRoutes: [HTTPRoute] = [], services: [Service] = [],
            endpointSlices: [EndpointSlice] = [], namespaces: [Namespace] = [], secrets: [Secret] = []
        ) {
            self.ingresses = ingresses
            self.ingressClasses = ingressClasses
            self.gatewayClasses = gatewayClasses
            self.gateways = gateways
            self.httpRoutes = httpRoutes
            self.services = services
            self.endpointSlices = endpointSlices
            self.namespaces = namespaces
            self.secrets = secrets
        }
    }

    /// Something left out of the table, and why (logged by the proxy).
    public struct Skipped: Sendable, Hashable, CustomStringConvertible {
        /// `ingress/namespace/name`, `httproute/…`, `gateway/…`.
        public var object: String
        public var reason: String

        public init(object: String, reason: String) {
            self.object = object
            self.reason = reason
        }

        public var description: String { "\(object): \(reason)" }
    }

    /// A port and the scheme it is served with.
    struct ServedPort: Sendable, Hashable {
        var port: Int
        var scheme: RoutingRequest.Scheme
    }

    public let configuration: Configuration
    public let skipped: [Skipped]
    private let certificates: CertificateTable
    private let ingressRoutes: IngressRoutes
    private let gatewayRoutes: GatewayRoutes

    public init(_ objects: Objects, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let resolver = BackendResolver(services: objects.services, slices: objects.endpointSlices)
        var certificates = CertificateTable()
        gatewayRoutes = GatewayRoutes(objects, configuration: configuration, resolver: resolver)
        for listener in gatewayRoutes.certificates {
            certificates.add(port: listener.port, host: listener.host, secret: listener.secret)
        }
        ingressRoutes = IngressRoutes(objects, configuration: configuration, resolver: resolver)
        for tls in ingressRoutes.certificates {
            certificates.add(port: configuration.ingressHTTPSPort, host: tls.host, secret: tls.secret)
        }
        self.certificates = certificates
        skipped = gatewayRoutes.skipped + ingressRoutes.skipped
    }

    /// The route `request` matches, or why there is none (answered with 404).
    public func route(_ request: RoutingRequest) -> Result<MatchedRoute, RouteNotFound> {
        let port = ServedPort(port: request.port, scheme: request.scheme)
        if let route = gatewayRoutes.hosts[port]?.route(request) { return .success(route) }
        if isIngressPort(port), let route = ingressRoutes.hosts.route(request) ?? ingressRoutes.defaultRoute {
            return .success(route)
        }
        return .failure(RouteNotFound(request: request))
    }

    /// `route`, then the matched route's decision for a backend picked with `draw` (see `WeightedPick`).
    public func decide(_ request: RoutingRequest, draw: UInt64) -> RouteDecision {
        switch route(request) {
        case .success(let route): return route.decide(request, draw: draw)
        case .failure(let notFound): return .reject(status: 404, reason: notFound.description)
        }
    }

    /// The certificate for a TLS handshake on `port` with SNI `serverName` (`nil` when the client sent none).
    public func certificate(port: Int, serverName: String?) -> CertificateChoice {
        certificates.certificate(port: port, serverName: serverName)
    }

    /// The ports the proxy must listen on, with their schemes: the Ingress ports and every programmed listener's.
    public var listeners: [(port: Int, scheme: RoutingRequest.Scheme)] {
        var all: Set<ServedPort> = [
            ServedPort(port: configuration.ingressHTTPPort, scheme: .http),
            ServedPort(port: configuration.ingressHTTPSPort, scheme: .https),
        ]
        all.formUnion(gatewayRoutes.programmedListeners)
        return all.sorted { $0.port < $1.port }.map { ($0.port, $0.scheme) }
    }

    /// The Ingresses this table serves.
    public var ingresses: [ObjectKey] { ingressRoutes.served }

    /// `status` for each served Ingress: `loadBalancer.ingress` lists the proxy's addresses (IPs as `ip`, names
    /// as `hostname`).
    public func ingressStatuses(addresses: [String]) -> [ObjectKey: IngressStatus] {
        var status = IngressStatus()
        status.loadBalancer = LoadBalancerStatus(ingress: addresses.map(StatusConditions.loadBalancerIngress))
        return Dictionary(uniqueKeysWithValues: ingressRoutes.served.map { ($0, status) })
    }

    /// `status` for each GatewayClass of Weft's controller (Accepted).
    public var gatewayClassStatuses: [String: GatewayClassStatus] { gatewayRoutes.classStatuses }

    /// `status` for each Gateway of Weft's classes, given the addresses the proxy serves on.
    public func gatewayStatuses(addresses: [String]) -> [ObjectKey: GatewayStatus] {
        gatewayRoutes.gatewayStatuses(addresses: addresses)
    }

    /// `status` for each HTTPRoute attached (or trying to attach) to Weft's Gateways: one entry per parentRef
    /// naming such a Gateway, with Accepted and ResolvedRefs (and PartiallyInvalid when rules were dropped).
    public var httpRouteStatuses: [ObjectKey: HTTPRouteStatus] { gatewayRoutes.routeStatuses }

    private func isIngressPort(_ port: ServedPort) -> Bool {
        port == ServedPort(port: configuration.ingressHTTPPort, scheme: .http)
            || port == ServedPort(port: configuration.ingressHTTPSPort, scheme: .https)
    }
}
