import KubeModel

/// What a controller writes back: each object with the status the route table wants merged into the one it has
/// (conditions keep their `lastTransitionTime` while their status holds; other controllers' conditions and route
/// parents stay), or `nil` when that is what it already has — so a controller writes only what changed, and its
/// own write, seen again through its watch, asks for nothing more.
public enum StatusWriteback {
    /// `ingress` with `status.loadBalancer` set to `desired`'s, or `nil` when it already is.
    public static func ingress(_ ingress: Ingress, desired: IngressStatus) -> Ingress? {
        var status = ingress.status ?? IngressStatus()
        guard status.loadBalancer != desired.loadBalancer else { return nil }
        status.loadBalancer = desired.loadBalancer
        var updated = ingress
        updated.status = status
        return updated
    }

    /// `gatewayClass` with `desired`'s conditions merged in, or `nil` when nothing changes.
    public static func gatewayClass(_ gatewayClass: GatewayClass, desired: GatewayClassStatus, now: String)
        -> GatewayClass?
    {
        var status = gatewayClass.status ?? GatewayClassStatus()
        let old = status.conditions ?? []
        let merged = StatusConditions.merge(desired.conditions ?? [], into: old, now: now)
        guard merged != old else { return nil }
        status.conditions = merged
        var updated = gatewayClass
        updated.status = status
        return updated
    }

    /// `gateway` with `desired`'s addresses, conditions and listeners (their conditions merged by listener name),
    /// or `nil` when nothing changes.
    public static func gateway(_ gateway: Gateway, desired: GatewayStatus, now: String) -> Gateway? {
        let old = gateway.status ?? GatewayStatus()
        var status = old
        status.addresses = desired.addresses
        status.conditions = StatusConditions.merge(desired.conditions ?? [], into: old.conditions ?? [], now: now)
        status.listeners = desired.listeners.map { listeners in
            listeners.map { listener in
                var listener = listener
                let previous = old.listeners?.first { $0.name == listener.name }
                listener.conditions = StatusConditions.merge(
                    listener.conditions, into: previous?.conditions ?? [], now: now)
                return listener
            }
        }
        guard status != old else { return nil }
        var updated = gateway
        updated.status = status
        return updated
    }

    /// `route` with the parents of `controllerName` replaced by `desired`'s (others kept), or `nil` when nothing
    /// changes.
    public static func httpRoute(_ route: HTTPRoute, desired: HTTPRouteStatus, controllerName: String, now: String)
        -> HTTPRoute?
    {
        let old = route.status ?? HTTPRouteStatus(parents: [])
        var status = old
        status.parents = StatusConditions.merge(
            parents: desired.parents, into: old.parents, controllerName: controllerName, now: now)
        guard status != old else { return nil }
        var updated = route
        updated.status = status
        return updated
    }
}
