import KubeModel
import WeftNet

/// One listener of a Gateway of Weft's class, checked: what it serves, which routes may attach, and the problems
/// its status conditions report (reasons from gateway_types.go's ListenerConditionReason).
struct GatewayListener: Sendable {
    static let gatewayGroup = "gateway.networking.k8s.io"
    static let httpRouteKind = RouteGroupKind(group: gatewayGroup, kind: "HTTPRoute")

    var name: String
    var port: Int
    /// `nil`: a protocol other than HTTP and HTTPS.
    var scheme: RoutingRequest.Scheme?
    var host: HostPattern
    var gatewayNamespace: String
    var allowedRoutes: AllowedRoutes?
    var supportedKinds: [RouteGroupKind] = []
    var certificate: ObjectKey?
    /// Accepted is False with this.
    var notAccepted: StatusProblem?
    /// ResolvedRefs is False with this.
    var unresolved: StatusProblem?
    /// Conflicted is True with this.
    var conflict: StatusProblem?
    var attachedRoutes = 0

    init(_ listener: Listener, gateway: ObjectKey, secrets: [ObjectKey: Secret]) {
        name = listener.name
        port = listener.port
        gatewayNamespace = gateway.namespace
        allowedRoutes = listener.allowedRoutes
        host = .any
        switch listener.protocol.uppercased() {
        case "HTTP": scheme = .http
        case "HTTPS": scheme = .https
        default:
            notAccepted = StatusProblem(
                "UnsupportedProtocol", "protocol \(listener.protocol) is not supported (HTTP and HTTPS are)")
            return
        }
        if !(1...65535).contains(port) {
            notAccepted = StatusProblem("PortUnavailable", "port \(port) is out of range")
        }
        if let parsed = HostPattern.gateway(listener.hostname), IPAddress(listener.hostname ?? "") == nil {
            host = parsed
        } else {
            notAccepted = StatusProblem(
                "UnsupportedValue", "hostname \(listener.hostname ?? "") is not a valid hostname")
        }
        switch listener.allowedRoutes?.namespaces?.from ?? "Same" {
        case "Same", "All", "Selector": break
        case let from:
            notAccepted = StatusProblem("UnsupportedValue", "allowedRoutes.namespaces.from \(from) is not supported")
        }
        let kinds = listener.allowedRoutes?.kinds ?? []
        supportedKinds = kinds.isEmpty || kinds.contains(where: Self.isHTTPRoute) ? [Self.httpRouteKind] : []
        if let invalid = kinds.first(where: { !Self.isHTTPRoute($0) }) {
            unresolved = StatusProblem("InvalidRouteKinds", "route kind \(invalid.kind) is not supported")
        }
        if scheme == .https { checkTLS(listener.tls, gateway: gateway, secrets: secrets) }
    }

    private static func isHTTPRoute(_ kind: RouteGroupKind) -> Bool {
        (kind.group ?? gatewayGroup) == gatewayGroup && kind.kind == "HTTPRoute"
    }

    /// HTTPS terminates with the first usable certificateRef: a `kubernetes.io/tls` Secret in the Gateway's
    /// namespace (another namespace would need a ReferenceGrant, which Weft does not read).
    private mutating func checkTLS(_ tls: GatewayTLSConfig?, gateway: ObjectKey, secrets: [ObjectKey: Secret]) {
        if tls?.mode == "Passthrough" {
            notAccepted = StatusProblem("UnsupportedValue", "TLS mode Passthrough is not supported on HTTPS listeners")
            return
        }
        let refs = tls?.certificateRefs ?? []
        if refs.isEmpty {
            unresolved = StatusProblem("InvalidCertificateRef", "an HTTPS listener needs a certificateRef")
        }
        for ref in refs {
            let key = ObjectKey(namespace: ref.namespace ?? gateway.namespace, name: ref.name)
            let problem: StatusProblem?
            if (ref.group ?? "") != "" || (ref.kind ?? "Secret") != "Secret" {
                problem = StatusProblem(
                    "InvalidCertificateRef", "certificateRef \(ref.kind ?? "")/\(ref.name) is not a core Secret")
            } else if key.namespace != gateway.namespace {
                problem = StatusProblem("RefNotPermitted", "certificateRef \(key) is in another namespace")
            } else {
                problem = CertificateTable.problem(with: secrets[key], key: key).map {
                    StatusProblem("InvalidCertificateRef", $0)
                }
            }
            if let problem {
                if unresolved == nil { unresolved = problem }
            } else if certificate == nil {
                certificate = key
            }
        }
    }

    /// Whether the proxy serves this listener: accepted, not conflicted, taking HTTPRoutes, and for HTTPS holding
    /// a certificate.
    var isServing: Bool {
        notAccepted == nil && conflict == nil && supportedKinds.contains(Self.httpRouteKind)
            && (scheme == .http || certificate != nil)
    }

    /// Whether `allowedRoutes` lets an HTTPRoute of `namespace` (with `labels`) attach.
    func allows(routeNamespace namespace: String, labels: [String: String]) -> Bool {
        guard supportedKinds.contains(Self.httpRouteKind) else { return false }
        switch allowedRoutes?.namespaces?.from ?? "Same" {
        case "All": return true
        case "Selector": return allowedRoutes?.namespaces?.selector?.matches(labels) ?? false
        case "Same": return namespace == gatewayNamespace
        default: return false
        }
    }

    func status(generation: Int64?) -> ListenerStatus {
        let accepted = notAccepted ?? conflict
        let programmed: StatusProblem? =
            isServing
            ? nil : StatusProblem("Invalid", (accepted ?? unresolved)?.message ?? "listener takes no HTTPRoutes")
        return ListenerStatus(
            name: name, supportedKinds: supportedKinds, attachedRoutes: attachedRoutes,
            conditions: [
                StatusConditions.condition("Accepted", good: "Accepted", problem: accepted, generation: generation),
                StatusConditions.condition(
                    "ResolvedRefs", good: "ResolvedRefs", problem: unresolved, generation: generation),
                Condition(
                    type: "Conflicted", status: conflict == nil ? "False" : "True",
                    reason: conflict?.reason ?? "NoConflicts", message: conflict?.message ?? "",
                    observedGeneration: generation),
                StatusConditions.condition(
                    "Programmed", good: "Programmed", problem: programmed, generation: generation),
            ])
    }
}
