import KubeModel
import Testing

@testable import IngressProxy

/// HTTPRoute matching and the precedence order of HTTPRouteRule.matches, across the rules of all routes.
struct GatewayPrecedenceTests {
    static let listener = "[{name: web, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]"

    /// An HTTPRoute `name` in `app` attached to `infra/gw` with one rule per entry of `rules` (YAML `matches`),
    /// rule N sending to Service `name-N`.
    static func route(
        _ name: String, created: String = "2024-01-01T00:00:00Z", hostnames: String = "[]", rules: [String]
    ) -> String {
        var yaml = """

            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: \(name), namespace: app, creationTimestamp: "\(created)"}
            spec:
              parentRefs: [{name: gw, namespace: infra}]
              hostnames: \(hostnames)
              rules:

            """
        for (index, matches) in rules.enumerated() {
            yaml += "  - {matches: \(matches), backendRefs: [{name: \(name)-\(index), port: 80}]}\n"
        }
        for index in rules.indices {
            yaml += Fixtures.service("\(name)-\(index)", namespace: "app", address: "10.2.0.\(index + 1)")
        }
        return yaml
    }

    static func table(_ routes: String...) throws -> RouteTable {
        try Fixtures.table(Fixtures.gateway(listeners: listener) + routes.joined())
    }

    static func destination(
        _ table: RouteTable, _ target: String, host: String = "example.com", method: String = "GET",
        headers: [String: String] = [:]
    ) -> String {
        let fields = headers.sorted { $0.key < $1.key }.map { HeaderField(name: $0.key, value: $0.value) }
        return Fixtures.destination(
            table, Fixtures.request(target, host: host, port: 8080, method: method, headers: fields))
    }

    @Test func exactPathBeforeAnyPrefixThenTheLongestPrefix() throws {
        let table = try Self.table(
            Self.route(
                "r",
                rules: [
                    "[{path: {type: PathPrefix, value: /}}]", "[{path: {type: PathPrefix, value: /a/b}}]",
                    "[{path: {type: Exact, value: /a/b}}]", "[{path: {type: PathPrefix, value: /a}}]",
                ]))
        #expect(Self.destination(table, "/a/b") == "app/r-2:80")
        #expect(Self.destination(table, "/a/b/c") == "app/r-1:80")
        #expect(Self.destination(table, "/a/bc") == "app/r-3:80")
        #expect(Self.destination(table, "/z") == "app/r-0:80")
    }

    @Test func methodThenMostHeadersThenMostQueryParameters() throws {
        let table = try Self.table(
            Self.route(
                "r",
                rules: [
                    "[{path: {value: /p}, queryParams: [{name: a, value: '1'}, {name: b, value: '2'}]}]",
                    "[{path: {value: /p}, headers: [{name: x, value: '1'}]}]",
                    "[{path: {value: /p}, headers: [{name: x, value: '1'}, {name: y, value: '2'}]}]",
                    "[{path: {value: /p}, method: POST}]",
                    "[{path: {value: /p}}]",
                ]))
        let all = ["X": "1", "y": "2"]
        #expect(Self.destination(table, "/p?a=1&b=2", method: "POST", headers: all) == "app/r-3:80")
        #expect(Self.destination(table, "/p?a=1&b=2", headers: all) == "app/r-2:80")
        #expect(Self.destination(table, "/p?a=1&b=2", headers: ["x": "1"]) == "app/r-1:80")
        #expect(Self.destination(table, "/p?b=2&a=1&a=9") == "app/r-0:80")
        #expect(Self.destination(table, "/p?a=9&a=1&b=2") == "app/r-4:80")
        #expect(Self.destination(table, "/p", headers: ["x": "2"]) == "app/r-4:80")
    }

    @Test func equalMatchesGoToTheOldestRouteThenByNamespaceAndNameThenRuleOrder() throws {
        let same = "[{path: {value: /same}}]"
        let newer = Self.route("aaa", created: "2024-06-01T00:00:00Z", rules: [same])
        let older = Self.route("zzz", created: "2024-01-01T00:00:00Z", rules: [same, same])
        #expect(Self.destination(try Self.table(newer, older), "/same") == "app/zzz-0:80")
        let twin = Self.route("bbb", created: "2024-01-01T00:00:00Z", rules: [same])
        #expect(Self.destination(try Self.table(older, twin), "/same") == "app/bbb-0:80")
    }

    @Test func aMoreSpecificHostnameWinsOverBetterMatchesOfAWiderOne() throws {
        let table = try Self.table(
            Self.route("wide", hostnames: "['*.example.com']", rules: ["[{path: {type: Exact, value: /x}}]"]),
            Self.route("narrow", hostnames: "[foo.example.com]", rules: ["[{path: {value: /}}]"]),
            Self.route("any", rules: ["[{path: {value: /}}]"]))
        #expect(Self.destination(table, "/x", host: "foo.example.com") == "narrow-0".withNamespace)
        #expect(Self.destination(table, "/x", host: "bar.example.com:8080") == "wide-0".withNamespace)
        #expect(Self.destination(table, "/y", host: "bar.example.com") == "404")
        #expect(Self.destination(table, "/y", host: "other.org") == "any-0".withNamespace)
    }

    @Test func matchesOfOneRuleAreAlternatives() throws {
        let table = try Self.table(
            Self.route(
                "r", rules: ["[{path: {value: /foo}, headers: [{name: version, value: v2}]}, {path: {value: /v2/foo}}]"]
            ))
        #expect(Self.destination(table, "/foo/x", headers: ["Version": "v2"]) == "app/r-0:80")
        #expect(Self.destination(table, "/v2/foo") == "app/r-0:80")
        #expect(Self.destination(table, "/foo") == "404")
    }

    @Test func aRouteWithoutRulesOrMatchesTakesEveryPathAndAnswers500() throws {
        let yaml = """

            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: bare, namespace: app}
            spec: {parentRefs: [{name: gw, namespace: infra}]}
            """
        let table = try Self.table(yaml)
        #expect(
            table.decide(Fixtures.request("/any", port: 8080), draw: 0)
                == .reject(status: 500, reason: "httproute/app/bare rule 0 has no backend to send to"))
    }
}

extension String {
    /// `name` → `app/name:80`.
    fileprivate var withNamespace: String { "app/\(self):80" }
}
