import KubeModel

/// The Gateway API half of a `RouteTable`: Gateways of the GatewayClasses whose controller is Weft's, their
/// listeners, the HTTPRoutes attached to them, and the status of all three.
struct GatewayRoutes: Sendable {
    struct ListenerCertificate: Sendable {
        var port: Int
        var host: HostPattern
        var secret: ObjectKey
    }

    private struct CompiledGateway: Sendable {
        var generation: Int64?
        var listeners: [GatewayListener]
    }

    private(set) var hosts: [RouteTable.ServedPort: VirtualHosts] = [:]
    private(set) var certificates: [ListenerCertificate] = []
    private(set) var programmedListeners: Set<RouteTable.ServedPort> = []
    private(set) var skipped: [RouteTable.Skipped] = []
    private(set) var classStatuses: [String: GatewayClassStatus] = [:]
    private(set) var routeStatuses: [ObjectKey: HTTPRouteStatus] = [:]
    private var gateways: [ObjectKey: CompiledGateway] = [:]
    private let controllerName: String

    init(_ objects: RouteTable.Objects, configuration: RouteTable.Configuration, resolver: BackendResolver) {
        controllerName = configuration.gatewayControllerName
        var classes = Set<String>()
        for gatewayClass in objects.gatewayClasses where gatewayClass.spec.controllerName == controllerName {
            let name = gatewayClass.metadata.name ?? ""
            classes.insert(name)
            var status = GatewayClassStatus()
            status.conditions = [
                StatusConditions.condition(
                    "Accepted", good: "Accepted", problem: nil, generation: gatewayClass.metadata.generation)
            ]
            classStatuses[name] = status
        }
        let secrets = Dictionary(objects.secrets.map { (ObjectKey($0.metadata), $0) }) { first, _ in first }
        // Ports the Ingress rules hold; a listener asking for one with the other scheme cannot have it.
        var portOwners: [Int: (scheme: RoutingRequest.Scheme, owner: String)] = [
            configuration.ingressHTTPPort: (.http, "Ingress"), configuration.ingressHTTPSPort: (.https, "Ingress"),
        ]
        let ours = objects.gateways.filter { classes.contains($0.spec.gatewayClassName) }.sorted {
            Self.order($0.metadata) < Self.order($1.metadata)
        }
        for gateway in ours {
            let key = ObjectKey(gateway.metadata)
            var listeners = gateway.spec.listeners.map { GatewayListener($0, gateway: key, secrets: secrets) }
            Self.markConflicts(&listeners)
            for index in listeners.indices where listeners[index].notAccepted == nil {
                guard let scheme = listeners[index].scheme, listeners[index].conflict == nil else { continue }
                let port = listeners[index].port
                if let owner = portOwners[port], owner.scheme != scheme {
                    listeners[index].notAccepted = StatusProblem(
                        "PortUnavailable", "port \(port) serves \(owner.scheme.rawValue) for \(owner.owner)")
                } else if portOwners[port] == nil {
                    portOwners[port] = (scheme, "gateway/\(key)")
                }
            }
            for listener in listeners where !listener.isServing {
                skipped.append(
                    RouteTable.Skipped(
                        object: "gateway/\(key)",
                        reason: "listener \(listener.name) is not served: "
                            + ((listener.notAccepted ?? listener.conflict ?? listener.unresolved)?.message
                                ?? "it takes no HTTPRoutes")))
            }
            gateways[key] = CompiledGateway(generation: gateway.metadata.generation, listeners: listeners)
        }
        let labels = Dictionary(
            objects.namespaces.map { ($0.metadata.name ?? "", $0.metadata.labels ?? [:]) }
        ) { first, _ in first }
        for route in objects.httpRoutes.sorted(by: { ObjectKey($0.metadata) < ObjectKey($1.metadata) }) {
            attach(route, resolver: resolver, namespaceLabels: labels)
        }
        // In Gateway order, so that of two certificates for one name the older Gateway's is the one served.
        for gateway in ours.compactMap({ gateways[ObjectKey($0.metadata)] }) {
            for listener in gateway.listeners where listener.isServing {
                guard let scheme = listener.scheme else { continue }
                programmedListeners.insert(RouteTable.ServedPort(port: listener.port, scheme: scheme))
                if let certificate = listener.certificate {
                    certificates.append(
                        ListenerCertificate(port: listener.port, host: listener.host, secret: certificate))
                }
            }
        }
        for port in hosts.keys { hosts[port]?.sort() }
    }

    private static func order(_ metadata: ObjectMeta) -> (String, ObjectKey) {
        (metadata.creationTimestamp ?? "~", ObjectKey(metadata))
    }

    /// Within one Gateway: listeners on one port with different protocols conflict (ProtocolConflict), and so do
    /// listeners with the same port, protocol and hostname (HostnameConflict).
    private static func markConflicts(_ listeners: inout [GatewayListener]) {
        let byPort = Dictionary(grouping: listeners.indices) { listeners[$0].port }
        for (port, indices) in byPort {
            let schemes = Set(indices.map { listeners[$0].scheme?.rawValue ?? "other" })
            if schemes.count > 1 {
                for index in indices {
                    listeners[index].conflict = StatusProblem(
                        "ProtocolConflict", "listeners on port \(port) ask for different protocols")
                }
                continue
            }
            let byHost = Dictionary(grouping: indices) { listeners[$0].host }
            for (host, same) in byHost where same.count > 1 {
                for index in same {
                    listeners[index].conflict = StatusProblem(
                        "HostnameConflict", "listeners on port \(port) share the hostname \(host)")
                }
            }
        }
    }

    /// Attaches `route` to the listeners its parentRefs select and allow, records its status per parentRef, and
    /// adds its rules to the host groups of the listeners that are served.
    private mutating func attach(
        _ route: HTTPRoute, resolver: BackendResolver, namespaceLabels: [String: [String: String]]
    ) {
        let compiled = CompiledHTTPRoute(route, resolver: resolver)
        let key = compiled.key
        let labels = namespaceLabels[key.namespace] ?? [Namespace.nameLabel: key.namespace]
        var parents: [RouteParentStatus] = []
        for parentRef in route.spec.parentRefs ?? [] {
            guard (parentRef.group ?? GatewayListener.gatewayGroup) == GatewayListener.gatewayGroup,
                (parentRef.kind ?? "Gateway") == "Gateway"
            else { continue }
            let gatewayKey = ObjectKey(namespace: parentRef.namespace ?? key.namespace, name: parentRef.name)
            guard var gateway = gateways[gatewayKey] else { continue }
            let selected = gateway.listeners.indices.filter { index in
                let listener = gateway.listeners[index]
                return (parentRef.sectionName.map { $0 == listener.name } ?? true)
                    && (parentRef.port.map { $0 == listener.port } ?? true)
            }
            let allowed = selected.filter {
                gateway.listeners[$0].allows(routeNamespace: key.namespace, labels: labels)
            }
            var attachedHosts: [(listener: Int, hosts: [HostPattern])] = []
            for index in allowed {
                let listenerHost = gateway.listeners[index].host
                let hosts =
                    compiled.hostnames.isEmpty
                    ? [listenerHost] : compiled.hostnames.compactMap { listenerHost.intersection($0) }
                if !hosts.isEmpty { attachedHosts.append((index, Array(Set(hosts)).sorted())) }
            }
            let notAccepted: StatusProblem?
            if selected.isEmpty {
                notAccepted = StatusProblem(
                    "NoMatchingParent", "gateway \(gatewayKey) has no listener \(Self.section(parentRef))")
            } else if allowed.isEmpty {
                notAccepted = StatusProblem(
                    "NotAllowedByListeners", "no listener of gateway \(gatewayKey) allows routes from \(key.namespace)")
            } else if attachedHosts.isEmpty {
                notAccepted = StatusProblem(
                    "NoMatchingListenerHostname", "no listener hostname of gateway \(gatewayKey) intersects the route's"
                )
            } else {
                notAccepted = compiled.notAccepted
            }
            if notAccepted == nil {
                for (index, hosts) in attachedHosts {
                    gateway.listeners[index].attachedRoutes += 1
                    let listener = gateway.listeners[index]
                    guard listener.isServing, let scheme = listener.scheme else { continue }
                    add(compiled, hosts: hosts, to: RouteTable.ServedPort(port: listener.port, scheme: scheme))
                }
                gateways[gatewayKey] = gateway
            }
            parents.append(
                RouteParentStatus(
                    parentRef: parentRef, controllerName: controllerName,
                    conditions: Self.conditions(compiled, notAccepted: notAccepted)))
        }
        if !parents.isEmpty { routeStatuses[key] = HTTPRouteStatus(parents: parents) }
        for reason in compiled.dropped {
            skipped.append(RouteTable.Skipped(object: "httproute/\(key)", reason: reason))
        }
    }

    private static func section(_ parentRef: ParentReference) -> String {
        [parentRef.sectionName.map { "named \($0)" }, parentRef.port.map { "on port \($0)" }].compactMap { $0 }
            .joined(separator: " ")
    }

    private mutating func add(_ route: CompiledHTTPRoute, hosts patterns: [HostPattern], to port: RouteTable.ServedPort)
    {
        for host in patterns {
            for rule in route.rules {
                for (index, match) in rule.matches.enumerated() {
                    let matched = MatchedRoute(
                        source: .httpRoute(route.key, rule: rule.index), host: host, path: match.path,
                        filters: rule.filters, backends: rule.backends)
                    hosts[port, default: VirtualHosts()].add(
                        VirtualHosts.Entry(
                            match: match,
                            precedence: .gateway(
                                match, created: route.created, object: route.key, rule: rule.index, match: index),
                            route: matched))
                }
            }
        }
    }

    /// Accepted, ResolvedRefs and — when some rules were dropped from an accepted route — PartiallyInvalid
    /// (shared_types.go: its message "MUST start with the prefix \"Dropped Rule\"").
    private static func conditions(_ route: CompiledHTTPRoute, notAccepted: StatusProblem?) -> [Condition] {
        let generation = route.generation
        let unresolved = route.unresolved.first.map {
            StatusProblem($0.reason, route.unresolved.map(\.message).joined(separator: "; "))
        }
        var conditions = [
            StatusConditions.condition("Accepted", good: "Accepted", problem: notAccepted, generation: generation),
            StatusConditions.condition(
                "ResolvedRefs", good: "ResolvedRefs", problem: unresolved, generation: generation),
        ]
        if notAccepted == nil, !route.dropped.isEmpty {
            conditions.append(
                Condition(
                    type: "PartiallyInvalid", status: "True", reason: "UnsupportedValue",
                    message: "Dropped Rule(s): " + route.dropped.joined(separator: "; "), observedGeneration: generation
                ))
        }
        return conditions
    }

    /// Accepted (every listener valid: `Accepted`; some: True with `ListenersNotValid`; none: False), Programmed
    /// (False `AddressNotAssigned` while the proxy has no address), the addresses and the listeners' status.
    func gatewayStatuses(addresses: [String]) -> [ObjectKey: GatewayStatus] {
        gateways.mapValues { gateway in
            let generation = gateway.generation
            let invalid = gateway.listeners.filter { $0.notAccepted != nil || $0.conflict != nil }
            let notAccepted: StatusProblem? =
                gateway.listeners.isEmpty || invalid.count == gateway.listeners.count
                ? StatusProblem("ListenersNotValid", "no listener is valid") : nil
            let acceptedReason = invalid.isEmpty ? "Accepted" : "ListenersNotValid"
            let notProgrammed: StatusProblem?
            if let notAccepted {
                notProgrammed = StatusProblem("Invalid", notAccepted.message)
            } else if addresses.isEmpty {
                notProgrammed = StatusProblem("AddressNotAssigned", "the proxy has no address yet")
            } else {
                notProgrammed = nil
            }
            var status = GatewayStatus()
            status.addresses = addresses.map(StatusConditions.gatewayAddress)
            status.conditions = [
                StatusConditions.condition(
                    "Accepted", good: acceptedReason, problem: notAccepted,
                    message: invalid.map { "listener \($0.name) is not valid" }.joined(separator: "; "),
                    generation: generation),
                StatusConditions.condition(
                    "Programmed", good: "Programmed", problem: notProgrammed, generation: generation),
            ]
            status.listeners = gateway.listeners.map { $0.status(generation: generation) }
            return status
        }
    }
}
