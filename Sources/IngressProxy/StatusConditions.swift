import KubeModel
import WeftNet

/// Building and writing back status conditions.
public enum StatusConditions {
    /// A condition that is `True` with `reason` when `problem` is `nil`, else `False` with the problem's reason
    /// and message.
    static func condition(
        _ type: String, good reason: String, problem: StatusProblem?, message: String = "", generation: Int64?
    ) -> Condition {
        Condition(
            type: type, status: problem == nil ? "True" : "False", reason: problem?.reason ?? reason,
            message: problem?.message ?? message, observedGeneration: generation)
    }

    /// `new` merged into `old` as a controller writes conditions back: a condition whose type and status are
    /// unchanged keeps its `lastTransitionTime`, others get `now` (RFC 3339); conditions of other types in `old`
    /// (another controller's) are kept, after the new ones.
    public static func merge(_ new: [Condition], into old: [Condition], now: String) -> [Condition] {
        var merged = new.map { condition in
            var condition = condition
            let previous = old.first { $0.type == condition.type }
            condition.lastTransitionTime =
                previous?.status == condition.status ? previous?.lastTransitionTime ?? now : now
            return condition
        }
        merged += old.filter { condition in !new.contains { $0.type == condition.type } }
        return merged
    }

    /// An HTTPRoute's `status.parents` with `ours` (the entries of `controllerName`) replacing that controller's
    /// old entries; other controllers' entries are kept. Conditions are merged per parentRef with `merge`, less
    /// the types `ours` no longer carries (a PartiallyInvalid that no longer holds).
    public static func merge(
        parents ours: [RouteParentStatus], into old: [RouteParentStatus], controllerName: String, now: String
    ) -> [RouteParentStatus] {
        let others = old.filter { $0.controllerName != controllerName }
        let merged = ours.map { entry in
            var entry = entry
            let previous = old.first { $0.controllerName == controllerName && $0.parentRef == entry.parentRef }
            let types = Set((entry.conditions ?? []).map(\.type))
            entry.conditions = merge(entry.conditions ?? [], into: previous?.conditions ?? [], now: now).filter {
                types.contains($0.type)
            }
            return entry
        }
        return merged + others
    }

    /// A load-balancer address: an IP as `ip`, anything else as `hostname`.
    static func loadBalancerIngress(_ address: String) -> LoadBalancerIngress {
        IPAddress(address) != nil ? LoadBalancerIngress(ip: address) : LoadBalancerIngress(hostname: address)
    }

    /// A Gateway address: `IPAddress` or `Hostname`.
    static func gatewayAddress(_ address: String) -> GatewayAddress {
        GatewayAddress(type: IPAddress(address) != nil ? "IPAddress" : "Hostname", value: address)
    }
}
