import KubeModel
import Testing

@testable import IngressProxy

/// Attachment of HTTPRoutes to listeners (parentRefs, allowedRoutes, hostnames) and the status conditions of
/// GatewayClasses, Gateways, listeners and routes.
struct GatewayStatusTests {
    static let gw = ObjectKey(namespace: "infra", name: "gw")

    static func route(
        _ name: String, namespace: String = "infra", parentRef: String = "{name: gw, namespace: infra}",
        hostnames: String = "[]", rules: String = "[{backendRefs: [{name: svc, port: 80}]}]"
    ) -> String {
        """

        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: \(name), namespace: \(namespace), generation: 3}
        spec: {parentRefs: [\(parentRef)], hostnames: \(hostnames), rules: \(rules)}

        """
    }

    /// `type=status/reason` of each condition.
    static func summary(_ conditions: [Condition]?) -> [String] {
        (conditions ?? []).map { "\($0.type)=\($0.status)/\($0.reason ?? "")" }
    }

    static func routeConditions(_ table: RouteTable, _ name: String, namespace: String = "infra") -> [[String]] {
        (table.httpRouteStatuses[ObjectKey(namespace: namespace, name: name)]?.parents ?? []).map {
            summary($0.conditions)
        }
    }

    static let accepted = ["Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs"]

    @Test func allowedRoutesNamespaces() throws {
        let listeners = """
            [{name: same, port: 80, protocol: HTTP, hostname: same.test},
             {name: all, port: 80, protocol: HTTP, hostname: all.test, allowedRoutes: {namespaces: {from: All}}},
             {name: selected, port: 80, protocol: HTTP, hostname: sel.test,
              allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: blue}}}}}]
            """
        let yaml =
            Fixtures.gateway(listeners: listeners)
                + """

                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: blue, labels: {team: blue}}

                """
            + Self.route("home") + Self.route("blue", namespace: "blue") + Self.route("red", namespace: "red")
            + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1")
            + Fixtures.service("svc", namespace: "blue", address: "10.0.0.2")
            + Fixtures.service("svc", namespace: "red", address: "10.0.0.3")
        let table = try Fixtures.table(yaml)
        func destination(_ host: String) -> String { Fixtures.destination(table, Fixtures.request("/", host: host)) }
        #expect(destination("same.test") == "infra/svc:80")
        // All three routes attach to `all`; equal matches go to the first by namespace/name.
        #expect(destination("all.test") == "blue/svc:80")
        #expect(destination("sel.test") == "blue/svc:80")
        let listenerStatus = table.gatewayStatuses(addresses: ["192.0.2.1"])[Self.gw]?.listeners ?? []
        #expect(listenerStatus.map(\.attachedRoutes) == [1, 3, 1])
        #expect(Self.routeConditions(table, "red", namespace: "red") == [Self.accepted])
        #expect(table.httpRouteStatuses.count == 3)
    }

    @Test func notAllowedAndNoMatchingParent() throws {
        let yaml =
            Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP}]")
            + Self.route("foreign", namespace: "other")
            + Self.route("wrongsection", parentRef: "{name: gw, namespace: infra, sectionName: nope}")
            + Self.route("wrongport", parentRef: "{name: gw, namespace: infra, port: 81}")
            + Self.route("rightport", parentRef: "{name: gw, namespace: infra, port: 80, sectionName: web}")
            + Self.route("notours", parentRef: "{name: elsewhere, namespace: infra}")
            + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1")
        let table = try Fixtures.table(yaml)
        let unresolvedAccepted = "ResolvedRefs=True/ResolvedRefs"
        #expect(
            Self.routeConditions(table, "foreign", namespace: "other") == [
                ["Accepted=False/NotAllowedByListeners", "ResolvedRefs=False/BackendNotFound"]
            ])
        #expect(
            Self.routeConditions(table, "wrongsection") == [["Accepted=False/NoMatchingParent", unresolvedAccepted]])
        #expect(Self.routeConditions(table, "wrongport") == [["Accepted=False/NoMatchingParent", unresolvedAccepted]])
        #expect(Self.routeConditions(table, "rightport") == [Self.accepted])
        #expect(table.httpRouteStatuses[ObjectKey(namespace: "infra", name: "notours")] == nil)
        let parent = try #require(
            table.httpRouteStatuses[ObjectKey(namespace: "infra", name: "rightport")]?.parents.first)
        #expect(parent.controllerName == "weft.dev/gateway-controller")
        #expect(parent.parentRef.sectionName == "web")
        #expect(parent.conditions?.first?.observedGeneration == 3)
    }

    @Test func hostnameIntersection() throws {
        let yaml =
            Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP, hostname: '*.example.com'}]")
            + Self.route("narrow", hostnames: "[test.example.com, test.example.net]")
            + Self.route("none", hostnames: "[example.com, other.org]")
            + Self.route(
                "hostless", rules: "[{matches: [{path: {value: /hostless}}], backendRefs: [{name: svc, port: 80}]}]")
            + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1")
        let table = try Fixtures.table(yaml)
        #expect(Self.routeConditions(table, "narrow") == [Self.accepted])
        #expect(
            Self.routeConditions(table, "none") == [
                ["Accepted=False/NoMatchingListenerHostname", "ResolvedRefs=True/ResolvedRefs"]
            ])
        func destination(_ host: String, _ path: String = "/") -> String {
            Fixtures.destination(table, Fixtures.request(path, host: host))
        }
        #expect(destination("test.example.com") == "infra/svc:80")
        // test.example.net is ignored: the listener does not cover it.
        #expect(destination("test.example.net") == "404")
        // The host-less route takes the listener's hostname.
        #expect(destination("a.b.example.com", "/hostless") == "infra/svc:80")
        #expect(destination("example.com", "/hostless") == "404")
    }

    @Test func unresolvedBackendsAre500AndReported() throws {
        let rules = """
            [{matches: [{path: {value: /missing}}], backendRefs: [{name: gone, port: 80}]},
             {matches: [{path: {value: /kind}}], backendRefs: [{group: example.io, kind: Bucket, name: b}]},
             {matches: [{path: {value: /cross}}], backendRefs: [{name: svc, namespace: other, port: 80}]},
             {matches: [{path: {value: /idle}}], backendRefs: [{name: idle, port: 80}]}]
            """
        let yaml =
            Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP}]") + Self.route("r", rules: rules)
                + """

                ---
                apiVersion: v1
                kind: Service
                metadata: {name: idle, namespace: infra}
                spec: {ports: [{port: 80}]}
                """
        let table = try Fixtures.table(yaml)
        let status = try #require(table.httpRouteStatuses[ObjectKey(namespace: "infra", name: "r")]?.parents.first)
        #expect(Self.summary(status.conditions) == ["Accepted=True/Accepted", "ResolvedRefs=False/BackendNotFound"])
        #expect(
            status.conditions?[1].message
                == "service infra/gone not found; backendRef example.io/Bucket/b is not a Service; "
                + "backendRef other/svc is in another namespace")
        func decide(_ path: String) -> RouteDecision { table.decide(Fixtures.request(path), draw: 0) }
        #expect(decide("/missing") == .reject(status: 500, reason: "service infra/gone not found"))
        #expect(decide("/kind") == .reject(status: 500, reason: "backendRef example.io/Bucket/b is not a Service"))
        #expect(decide("/cross") == .reject(status: 500, reason: "backendRef other/svc is in another namespace"))
        #expect(decide("/idle") == .reject(status: 503, reason: "service infra/idle port 80 has no ready endpoints"))
    }

    @Test func unsupportedRulesAreDroppedTheOthersServed() throws {
        let rules = """
            [{matches: [{path: {type: RegularExpression, value: '/re.*'}}], backendRefs: [{name: svc, port: 80}]},
             {matches: [{headers: [{type: RegularExpression, name: x, value: '.*'}]}],
              backendRefs: [{name: svc, port: 80}]},
             {filters: [{type: RequestMirror, requestMirror: {backendRef: {name: svc, port: 80}}}]},
             {matches: [{path: {value: /ok}}], backendRefs: [{name: svc, port: 80}]}]
            """
        let yaml =
            Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP}]") + Self.route("partly", rules: rules)
            + Self.route("wholly", rules: "[{matches: [{path: {type: RegularExpression, value: '/x'}}]}]")
            + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1")
        let table = try Fixtures.table(yaml)
        #expect(
            Self.routeConditions(table, "partly") == [
                Self.accepted + ["PartiallyInvalid=True/UnsupportedValue"]
            ])
        let partly = table.httpRouteStatuses[ObjectKey(namespace: "infra", name: "partly")]?.parents.first
        #expect(
            partly?.conditions?.last?.message
                == "Dropped Rule(s): rule 0: RegularExpression path matches are not supported; "
                + "rule 1: RegularExpression header matches are not supported; "
                + "rule 2: filter RequestMirror is not supported here")
        #expect(
            Self.routeConditions(table, "wholly") == [
                ["Accepted=False/UnsupportedValue", "ResolvedRefs=True/ResolvedRefs"]
            ])
        #expect(Fixtures.destination(table, Fixtures.request("/ok")) == "infra/svc:80")
        #expect(Fixtures.destination(table, Fixtures.request("/re1")) == "404")
        #expect(table.skipped.contains { $0.object == "httproute/infra/partly" && $0.reason.hasPrefix("rule 2:") })
    }

    static let tlsSecret = """

        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: cert, namespace: infra}
        type: kubernetes.io/tls
        data: {tls.crt: Y2VydA==, tls.key: a2V5}

        """

    @Test func gatewayAndListenerConditions() throws {
        let listeners = """
            [{name: http, port: 80, protocol: HTTP},
             {name: https, port: 443, protocol: HTTPS, hostname: secure.test,
              tls: {certificateRefs: [{name: cert}]}},
             {name: nocert, port: 443, protocol: HTTPS, hostname: nocert.test,
              tls: {certificateRefs: [{name: missing}]}},
             {name: tcp, port: 9000, protocol: TCP},
             {name: kinds, port: 8080, protocol: HTTP,
              allowedRoutes: {kinds: [{kind: HTTPRoute}, {kind: GRPCRoute}]}}]
            """
        let yaml =
            Fixtures.gateway(listeners: listeners) + Self.tlsSecret
            + Self.route("r") + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1")
        let table = try Fixtures.table(yaml)
        #expect(
            Self.summary(table.gatewayClassStatuses["weft"]?.conditions) == ["Accepted=True/Accepted"])
        let status = try #require(table.gatewayStatuses(addresses: ["192.0.2.1"])[Self.gw])
        #expect(Self.summary(status.conditions) == ["Accepted=True/ListenersNotValid", "Programmed=True/Programmed"])
        #expect(status.conditions?.first?.observedGeneration == 2)
        #expect(status.addresses == [GatewayAddress(type: "IPAddress", value: "192.0.2.1")])
        let listenerStatus = Dictionary(uniqueKeysWithValues: (status.listeners ?? []).map { ($0.name, $0) })
        func conditions(_ name: String) -> [String] { Self.summary(listenerStatus[name]?.conditions) }
        let good = [
            "Accepted=True/Accepted", "ResolvedRefs=True/ResolvedRefs", "Conflicted=False/NoConflicts",
            "Programmed=True/Programmed",
        ]
        #expect(conditions("http") == good)
        #expect(conditions("https") == good)
        #expect(
            conditions("nocert") == [
                "Accepted=True/Accepted", "ResolvedRefs=False/InvalidCertificateRef", "Conflicted=False/NoConflicts",
                "Programmed=False/Invalid",
            ])
        #expect(
            conditions("tcp") == [
                "Accepted=False/UnsupportedProtocol", "ResolvedRefs=True/ResolvedRefs", "Conflicted=False/NoConflicts",
                "Programmed=False/Invalid",
            ])
        #expect(
            conditions("kinds") == [
                "Accepted=True/Accepted", "ResolvedRefs=False/InvalidRouteKinds", "Conflicted=False/NoConflicts",
                "Programmed=True/Programmed",
            ])
        #expect(
            listenerStatus["kinds"]?.supportedKinds == [
                RouteGroupKind(group: "gateway.networking.k8s.io", kind: "HTTPRoute")
            ])
        #expect(listenerStatus["tcp"]?.supportedKinds == [])
        #expect(listenerStatus["http"]?.attachedRoutes == 1)
        #expect(listenerStatus["tcp"]?.attachedRoutes == 0)
        // Without an address the Gateway is not programmed.
        let unaddressed = table.gatewayStatuses(addresses: [])[Self.gw]
        #expect(Self.summary(unaddressed?.conditions).last == "Programmed=False/AddressNotAssigned")
    }

    @Test func conflictingListenersAreNotServed() throws {
        let listeners = """
            [{name: a, port: 8080, protocol: HTTP, hostname: x.test},
             {name: b, port: 8080, protocol: HTTP, hostname: x.test},
             {name: c, port: 8443, protocol: HTTP},
             {name: d, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}},
             {name: e, port: 8080, protocol: HTTP, hostname: y.test}]
            """
        let yaml =
            Fixtures.gateway(listeners: listeners) + Self.tlsSecret
            + Fixtures.gateway(
                listeners: "[{name: tls80, port: 80, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}]",
                name: "gw2")
            + Self.route("r") + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1")
        let table = try Fixtures.table(yaml)
        let statuses = table.gatewayStatuses(addresses: ["192.0.2.1"])
        func conditions(_ gateway: String, _ listener: String) -> [String] {
            let status = statuses[ObjectKey(namespace: "infra", name: gateway)]
            return Self.summary(status?.listeners?.first { $0.name == listener }?.conditions)
        }
        #expect(conditions("gw", "a").contains("Conflicted=True/HostnameConflict"))
        #expect(conditions("gw", "b").contains("Programmed=False/Invalid"))
        #expect(conditions("gw", "c").contains("Conflicted=True/ProtocolConflict"))
        #expect(conditions("gw", "d").contains("Conflicted=True/ProtocolConflict"))
        #expect(conditions("gw", "e").contains("Programmed=True/Programmed"))
        // The Ingress rules hold port 80 for HTTP.
        #expect(conditions("gw2", "tls80").first == "Accepted=False/PortUnavailable")
        #expect(
            Self.summary(statuses[ObjectKey(namespace: "infra", name: "gw2")]?.conditions).first
                == "Accepted=False/ListenersNotValid")
        #expect(Fixtures.destination(table, Fixtures.request("/", host: "y.test", port: 8080)) == "infra/svc:80")
        #expect(Fixtures.destination(table, Fixtures.request("/", host: "x.test", port: 8080)) == "404")
        #expect(table.listeners.map { "\($0.port)/\($0.scheme)" } == ["80/http", "443/https", "8080/http"])
    }

    @Test func httpsListenerCertificateBySNI() throws {
        let listeners = """
            [{name: https, port: 443, protocol: HTTPS, hostname: '*.secure.test',
              tls: {certificateRefs: [{name: cert}]}}]
            """
        let table = try Fixtures.table(Fixtures.gateway(listeners: listeners) + Self.tlsSecret)
        #expect(
            table.certificate(port: 443, serverName: "a.b.secure.test")
                == .secret(ObjectKey(namespace: "infra", name: "cert")))
        #expect(table.certificate(port: 443, serverName: "secure.test") == .default)
    }
}
