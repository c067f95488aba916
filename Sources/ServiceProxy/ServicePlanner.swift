import KubeModel
import WeftNet

/// Turns Services and EndpointSlices into `ServicePortPlan`s, one per service port and family: the pure first
/// step of every sync. What cannot be programmed is skipped with a reason (a bad NodePort, an endpoint of the
/// wrong family, a load-balancer IP that is also a cluster IP, …), so one bad object never blocks the others.
public struct ServicePlanner: Sendable {
    public var node: ProxyNode

    public init(node: ProxyNode) { self.node = node }

    /// Something the planner left out, and why (logged and counted by the proxy).
    public struct Skipped: Sendable, Equatable, CustomStringConvertible {
        public var service: String
        public var reason: String
        public var description: String { "\(service): \(reason)" }
    }

    public struct Result: Sendable, Equatable {
        public var plans: [ServicePortPlan]
        public var skipped: [Skipped]
    }

    /// Plans for every service that has cluster IPs (headless and ExternalName services have nothing to proxy).
    /// `isClusterIP` says whether an address is any service's cluster IP (default: one of `services`').
    public func plan(
        services: [Service], slices: [EndpointSlice], isClusterIP: ((IPAddress) -> Bool)? = nil
    ) -> Result {
        var slicesByService: [String: [EndpointSlice]] = [:]
        for slice in slices {
            guard let name = slice.serviceName else { continue }
            slicesByService["\(slice.metadata.namespace ?? "default")/\(name)", default: []].append(slice)
        }
        var plans: [ServicePortPlan] = []
        var skipped: [Skipped] = []
        let given = Set(services.flatMap { Self.clusterIPs($0).compactMap(IPAddress.init) })
        let isClusterIP = isClusterIP ?? { given.contains($0) }
        for service in services.sorted(by: { Self.id($0) < Self.id($1) }) {
            let (servicePlans, serviceSkipped) = plan(
                service, slices: slicesByService[Self.id(service)] ?? [], isClusterIP: isClusterIP)
            plans += servicePlans
            skipped += serviceSkipped
        }
        return Result(plans: plans, skipped: skipped)
    }

    /// `spec.clusterIPs`, else `spec.clusterIP` (objects written before dual-stack), without `None`.
    static func clusterIPs(_ service: Service) -> [String] {
        let spec = service.spec
        return (spec?.clusterIPs ?? spec?.clusterIP.map { [$0] } ?? []).filter { $0 != "None" && !$0.isEmpty }
    }

    static func id(_ service: Service) -> String {
        "\(service.metadata.namespace ?? "default")/\(service.metadata.name ?? "")"
    }

    private func plan(
        _ service: Service, slices: [EndpointSlice], isClusterIP: (IPAddress) -> Bool
    ) -> ([ServicePortPlan], [Skipped]) {
        let id = Self.id(service)
        guard let spec = service.spec, spec.type != "ExternalName" else { return ([], []) }
        var skipped: [Skipped] = []
        // Once per service, though a reason may apply to each of its ports and families.
        func skip(_ reason: String) {
            let entry = Skipped(service: id, reason: reason)
            if !skipped.contains(entry) { skipped.append(entry) }
        }
        let clusterIPs = Self.clusterIPs(service)
        var plans: [ServicePortPlan] = []
        var seenPorts = Set<String>()
        for clusterIPText in clusterIPs {
            guard let clusterIP = IPAddress(clusterIPText) else {
                skip("cluster IP \"\(clusterIPText)\" is not an address")
                continue
            }
            let family = clusterIP.family
            for port in spec.ports ?? [] {
                let transport = TransportProtocol(rawValue: port.protocol?.rawValue ?? "TCP") ?? .tcp
                guard (1...65535).contains(port.port) else {
                    skip("port \(port.port) is out of range")
                    continue
                }
                let key = ServicePortKey(
                    namespace: service.metadata.namespace ?? "default", name: service.metadata.name ?? "",
                    port: port.name ?? "", protocol: transport, family: family)
                guard seenPorts.insert(key.description).inserted else {
                    skip("port \(port.name ?? "") / \(transport.rawValue) is listed twice")
                    continue
                }
                var plan = ServicePortPlan(key: key, clusterIP: clusterIP, port: port.port)
                if let nodePort = port.nodePort, nodePort != 0, spec.type == "NodePort" || spec.type == "LoadBalancer" {
                    if node.nodePortRange.contains(nodePort) {
                        plan.nodePort = nodePort
                    } else {
                        skip(
                            "node port \(nodePort) is outside \(node.nodePortRange.lowerBound)-\(node.nodePortRange.upperBound)"
                        )
                    }
                }
                plan.externalIPs = (spec.externalIPs ?? []).compactMap(IPAddress.init).filter { $0.family == family }
                if spec.type == "LoadBalancer" {
                    for ingress in service.status?.loadBalancer?.ingress ?? [] {
                        guard let ip = ingress.ip.flatMap(IPAddress.init), ip.family == family else { continue }
                        if isClusterIP(ip) {
                            skip("load-balancer IP \(ip) is also a cluster IP")
                            continue
                        }
                        plan.loadBalancerIPs.append(ip)
                    }
                    plan.loadBalancerSourceRanges = Self.sourceRanges(spec.loadBalancerSourceRanges ?? [], family)
                }
                if spec.sessionAffinity == "ClientIP" {
                    let configured = spec.sessionAffinityConfig?["clientIP"]?["timeoutSeconds"]?.doubleValue
                    plan.affinityTimeoutSeconds = configured.map { Int($0) } ?? 10800
                }
                plan.externalPolicyLocal = spec.externalTrafficPolicy == "Local" && plan.isExternallyAccessible
                plan.internalPolicyLocal = spec.internalTrafficPolicy == "Local"
                if plan.externalPolicyLocal { plan.healthCheckNodePort = spec.healthCheckNodePort }
                let (endpoints, endpointSkips) = Self.endpoints(
                    for: port, family: family, slices: slices, node: node.name,
                    publishNotReady: spec.publishNotReadyAddresses == true)
                plan.endpoints = endpoints
                for reason in endpointSkips { skip(reason) }
                plans.append(plan)
            }
        }
        return (plans, skipped)
    }

    /// `loadBalancerSourceRanges` of one family as networks, without the ranges another one contains (an nft
    /// interval set refuses overlapping elements).
    static func sourceRanges(_ texts: [String], _ family: IPFamily) -> [IPPrefix] {
        let ranges = Set(
            texts.compactMap { IPPrefix(String($0.filter { !$0.isWhitespace })) }.filter { $0.family == family }
                .map(\.network))
        return ranges.filter { range in
            !ranges.contains { $0 != range && $0.length <= range.length && $0.contains(range.address) }
        }.sorted { $0.description < $1.description }
    }

    /// The endpoints of one service port and family: from each slice of the family, the port whose name (and
    /// protocol) is the service port's; an address seen in several slices counts once, with its best conditions.
    static func endpoints(
        for port: ServicePort, family: IPFamily, slices: [EndpointSlice], node: String, publishNotReady: Bool
    ) -> ([ServiceEndpoint], [String]) {
        struct Key: Hashable {
            var address: IPAddress
            var port: Int
        }
        var byAddress: [Key: ServiceEndpoint] = [:]
        var skipped: [String] = []
        let wantedFamily = family == .v4 ? "IPv4" : "IPv6"
        for slice in slices where slice.addressType == wantedFamily {
            guard
                let slicePort = (slice.ports ?? []).first(where: {
                    ($0.name ?? "") == (port.name ?? "")
                        && ($0.protocol?.rawValue ?? "TCP") == (port.protocol?.rawValue ?? "TCP")
                })
            else { continue }
            guard let number = slicePort.port, (1...65535).contains(number) else {
                skipped.append(
                    "EndpointSlice \(slice.metadata.name ?? "") has no valid port for \(port.name ?? "\(port.port)")")
                continue
            }
            for endpoint in slice.endpoints {
                let conditions = endpoint.conditions
                // A nil condition is true for ready and serving (discovery.k8s.io/v1), false for terminating.
                let ready = publishNotReady || (conditions?.ready ?? true)
                let serving = conditions?.serving ?? ready
                let terminating = conditions?.terminating ?? false
                for text in endpoint.addresses {
                    guard let address = IPAddress(text), address.family == family else {
                        skipped.append("endpoint address \"\(text)\" is not an \(wantedFamily) address")
                        continue
                    }
                    let candidate = ServiceEndpoint(
                        address: address, port: number, isLocal: endpoint.nodeName == node,
                        isRemote: endpoint.nodeName != nil && endpoint.nodeName != node, ready: ready,
                        serving: serving, terminating: terminating,
                        zoneHints: Set((endpoint.hints?.forZones ?? []).map(\.name)))
                    let key = Key(address: address, port: number)
                    if let existing = byAddress[key], existing.ready || !candidate.ready { continue }
                    byAddress[key] = candidate
                }
            }
        }
        return (byAddress.values.sorted(), skipped)
    }
}
