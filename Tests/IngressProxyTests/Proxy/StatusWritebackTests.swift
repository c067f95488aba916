import KubeModel
import Testing

@testable import IngressProxy

/// Statuses are written only when they change, and a status written once asks for nothing more.
struct StatusWritebackTests {
    static let yaml =
        Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP}]")
            + """

            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: r, namespace: infra, generation: 1}
            spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: svc, port: 80}]}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: i, namespace: infra}
            spec: {ingressClassName: weft, defaultBackend: {service: {name: svc, port: {number: 80}}}}

            """ + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1")

    @Test func writtenOnceThenLeftAlone() throws {
        var objects = try Fixtures.objects(Self.yaml)
        let table = RouteTable(objects)
        let addresses = ["192.0.2.10", "lb.example"]

        let desiredIngress = try #require(table.ingressStatuses(addresses: addresses).first?.value)
        let ingress = try #require(StatusWriteback.ingress(objects.ingresses[0], desired: desiredIngress))
        #expect(ingress.status?.loadBalancer?.ingress?.map { $0.ip ?? $0.hostname ?? "" } == addresses)
        objects.ingresses[0] = ingress
        #expect(StatusWriteback.ingress(objects.ingresses[0], desired: desiredIngress) == nil)

        let classStatus = try #require(table.gatewayClassStatuses["weft"])
        let gatewayClass = try #require(
            StatusWriteback.gatewayClass(objects.gatewayClasses[0], desired: classStatus, now: "2026-01-01T00:00:00Z"))
        #expect(gatewayClass.status?.conditions?.first?.lastTransitionTime == "2026-01-01T00:00:00Z")
        #expect(StatusWriteback.gatewayClass(gatewayClass, desired: classStatus, now: "2026-01-02T00:00:00Z") == nil)

        let gatewayStatus = try #require(table.gatewayStatuses(addresses: addresses)[GatewayStatusTests.gw])
        let gateway = try #require(
            StatusWriteback.gateway(objects.gateways[0], desired: gatewayStatus, now: "2026-01-01T00:00:00Z"))
        #expect(gateway.status?.listeners?.first?.attachedRoutes == 1)
        #expect(StatusWriteback.gateway(gateway, desired: gatewayStatus, now: "2026-01-02T00:00:00Z") == nil)

        let routeStatus = try #require(table.httpRouteStatuses[ObjectKey(namespace: "infra", name: "r")])
        let route = try #require(
            StatusWriteback.httpRoute(
                objects.httpRoutes[0], desired: routeStatus, controllerName: RouteTable.gatewayControllerName,
                now: "2026-01-01T00:00:00Z"))
        #expect(
            StatusWriteback.httpRoute(
                route, desired: routeStatus, controllerName: RouteTable.gatewayControllerName,
                now: "2026-01-02T00:00:00Z") == nil)

        // The route loses its backend: its ResolvedRefs flips and gets a new transition time.
        objects.httpRoutes[0] = route
        objects.services = []
        let broken = RouteTable(objects).httpRouteStatuses[ObjectKey(namespace: "infra", name: "r")]!
        let changed = try #require(
            StatusWriteback.httpRoute(
                route, desired: broken, controllerName: RouteTable.gatewayControllerName, now: "2026-01-03T00:00:00Z"))
        let resolved = changed.status?.parents.first?.conditions?.first { $0.type == "ResolvedRefs" }
        #expect(resolved?.status == "False")
        #expect(resolved?.lastTransitionTime == "2026-01-03T00:00:00Z")
    }
}
