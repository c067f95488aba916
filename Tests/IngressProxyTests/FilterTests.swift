import KubeModel
import Testing

@testable import IngressProxy

/// RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect and URLRewrite as values and through a route.
struct FilterTests {
    @Test func headerModifierSetsAddsAndRemoves() {
        var headers = [
            HeaderField(name: "My-Header", value: "foo"), HeaderField(name: "x-drop", value: "1"),
            HeaderField(name: "my-header", value: "again"), HeaderField(name: "Keep", value: "k"),
        ]
        HeaderModifier(
            set: [HeaderField(name: "my-header", value: "bar"), HeaderField(name: "new", value: "n")],
            add: [HeaderField(name: "keep", value: "k2")], remove: ["X-DROP"]
        ).apply(to: &headers)
        #expect(
            headers == [
                HeaderField(name: "My-Header", value: "bar"), HeaderField(name: "Keep", value: "k"),
                HeaderField(name: "new", value: "n"), HeaderField(name: "keep", value: "k2"),
            ])
        #expect(headers.combinedValue(of: "KEEP") == "k,k2")
    }

    /// Every row of the table in HTTPPathModifier.replacePrefixMatch's documentation.
    @Test(arguments: [
        ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
        ("/foo", "/foo", "/xyz", "/xyz"),
        ("/foo/", "/foo", "/xyz", "/xyz/"),
        ("/foo/bar", "/foo", "", "/bar"),
        ("/foo/", "/foo", "", "/"),
        ("/foo", "/foo", "", "/"),
        ("/foo/", "/foo", "/", "/"),
        ("/foo", "/foo", "/", "/"),
        ("/anything/here", "/", "/base", "/base/anything/here"),
    ])
    func replacePrefixMatch(_ path: String, _ prefix: String, _ replacement: String, _ expected: String) {
        #expect(PathModifier.replacePrefixMatch(replacement).apply(to: path, matchedPrefix: prefix) == expected)
    }

    @Test func replaceFullPath() {
        #expect(PathModifier.replaceFullPath("/new").apply(to: "/old/path", matchedPrefix: "/old") == "/new")
    }

    /// HTTPRequestRedirectFilter.port: the filter's port, else the well-known port of the filter's scheme, else
    /// the listener's; the well-known port of the resulting scheme is left out.
    @Test(arguments: [
        (RequestRedirect(scheme: .https), "https://example.com/a/b?q=1"),
        (RequestRedirect(scheme: .https, port: 8443), "https://example.com:8443/a/b?q=1"),
        (RequestRedirect(hostname: "other.org"), "http://other.org:8080/a/b?q=1"),
        (RequestRedirect(port: 80), "http://example.com/a/b?q=1"),
        (
            RequestRedirect(scheme: .http, path: .replacePrefixMatch("/z"), statusCode: 301),
            "http://example.com/z/b?q=1"
        ),
        (RequestRedirect(path: .replaceFullPath("/moved")), "http://example.com:8080/moved?q=1"),
    ])
    func redirectLocation(_ redirect: RequestRedirect, _ location: String) {
        let request = Fixtures.request("/a/b?q=1", host: "Example.com:8080", port: 8080)
        #expect(redirect.location(for: request, matchedPrefix: "/a") == location)
    }

    static let rules = """
        [{matches: [{path: {value: /old}}],
          filters: [{type: RequestRedirect,
                     requestRedirect: {scheme: https, statusCode: 301,
                                       path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]},
         {matches: [{path: {value: /api}}],
          filters: [{type: URLRewrite,
                     urlRewrite: {hostname: backend.internal,
                                  path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}},
                    {type: RequestHeaderModifier,
                     requestHeaderModifier: {set: [{name: x-env, value: prod}], add: [{name: x-via, value: weft}],
                                             remove: [x-debug]}},
                    {type: ResponseHeaderModifier,
                     responseHeaderModifier: {set: [{name: cache-control, value: no-store}]}}],
          backendRefs: [{name: svc, port: 80,
                         filters: [{type: RequestHeaderModifier,
                                    requestHeaderModifier: {add: [{name: x-backend, value: svc}]}}]}]},
         {matches: [{path: {type: Exact, value: /both}}],
          filters: [{type: RequestRedirect, requestRedirect: {}}, {type: URLRewrite, urlRewrite: {hostname: x.test}}]},
         {matches: [{path: {type: Exact, value: /exact}}],
          filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}}]}]
        """

    static func table() throws -> RouteTable {
        try Fixtures.table(
            Fixtures.gateway(listeners: "[{name: web, port: 80, protocol: HTTP}]")
                + GatewayStatusTests.route("filters", rules: rules)
                + Fixtures.service("svc", namespace: "infra", address: "10.0.0.1"))
    }

    @Test func redirectAnswersWithoutABackend() throws {
        let table = try Self.table()
        #expect(
            table.decide(Fixtures.request("/old/page?x=1", host: "shop.test"), draw: 0)
                == .redirect(status: 301, location: "https://shop.test/new/page?x=1"))
    }

    @Test func rewriteAndHeaderModifiersShapeTheUpstreamRequestAndResponse() throws {
        let table = try Self.table()
        let request = Fixtures.request(
            "/api/items?id=7", host: "shop.test",
            headers: [HeaderField(name: "X-Debug", value: "1"), HeaderField(name: "X-Env", value: "dev")])
        guard case .forward(let forward) = table.decide(request, draw: 0) else {
            Issue.record("not forwarded")
            return
        }
        #expect(forward.request.host == "backend.internal")
        #expect(forward.request.target == "/v2/items?id=7")
        #expect(
            forward.request.headers == [
                HeaderField(name: "X-Env", value: "prod"), HeaderField(name: "x-via", value: "weft"),
                HeaderField(name: "x-backend", value: "svc"),
            ])
        var response = [HeaderField(name: "Cache-Control", value: "max-age=60")]
        for modifier in forward.responseHeaders { modifier.apply(to: &response) }
        #expect(response == [HeaderField(name: "Cache-Control", value: "no-store")])
    }

    @Test func incompatibleOrMisplacedFiltersDropTheirRule() throws {
        let table = try Self.table()
        #expect(
            table.skipped.map(\.description) == [
                "httproute/infra/filters: rule 2: RequestRedirect and URLRewrite cannot be combined",
                "httproute/infra/filters: rule 3: ReplacePrefixMatch needs exactly one PathPrefix match",
            ])
        #expect(Fixtures.destination(table, Fixtures.request("/both")) == "404")
    }
}
