import KubeModel
import Testing

@testable import IngressProxy

/// Writing computed conditions back over the ones an object already has.
struct StatusMergeTests {
    @Test func unchangedConditionsKeepTheirTransitionTime() {
        let old = [
            Condition(type: "Accepted", status: "True", reason: "Accepted", lastTransitionTime: "T0"),
            Condition(type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", lastTransitionTime: "T0"),
            Condition(type: "example.io/Other", status: "True", lastTransitionTime: "T0"),
        ]
        let new = [
            Condition(type: "Accepted", status: "True", reason: "Accepted"),
            Condition(type: "ResolvedRefs", status: "False", reason: "BackendNotFound"),
        ]
        let merged = StatusConditions.merge(new, into: old, now: "T1")
        #expect(merged.map(\.type) == ["Accepted", "ResolvedRefs", "example.io/Other"])
        #expect(merged.map(\.lastTransitionTime) == ["T0", "T1", "T0"])
        #expect(merged[1].reason == "BackendNotFound")
    }

    @Test func routeParentsOfOtherControllersAreKept() {
        let ref = ParentReference(name: "gw", namespace: "infra")
        let theirs = RouteParentStatus(parentRef: ref, controllerName: "example.io/other", conditions: [])
        let stale = RouteParentStatus(
            parentRef: ref, controllerName: RouteTable.gatewayControllerName,
            conditions: [
                Condition(type: "Accepted", status: "True", reason: "Accepted", lastTransitionTime: "T0"),
                Condition(
                    type: "PartiallyInvalid", status: "True", reason: "UnsupportedValue", lastTransitionTime: "T0"),
            ])
        let ours = RouteParentStatus(
            parentRef: ref, controllerName: RouteTable.gatewayControllerName,
            conditions: [Condition(type: "Accepted", status: "True", reason: "Accepted")])
        let merged = StatusConditions.merge(
            parents: [ours], into: [theirs, stale], controllerName: RouteTable.gatewayControllerName, now: "T1")
        #expect(merged.map(\.controllerName) == [RouteTable.gatewayControllerName, "example.io/other"])
        #expect(merged[0].conditions?.map(\.type) == ["Accepted"])
        #expect(merged[0].conditions?.first?.lastTransitionTime == "T0")
    }
}
