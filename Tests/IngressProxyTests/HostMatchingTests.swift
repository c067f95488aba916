import Testing

@testable import IngressProxy

/// Host patterns: Ingress wildcards cover one label, Gateway API wildcards any number; hosts compare without
/// case, port or trailing dot; listener and route hostnames intersect.
struct HostMatchingTests {
    /// The Ingress docs' hostname wildcards table.
    @Test(arguments: [
        ("bar.foo.com", true),  // Matches based on shared suffix
        ("baz.bar.foo.com", false),  // No match, wildcard only covers a single DNS label
        ("foo.com", false),  // No match, wildcard only covers a single DNS label
        (".foo.com", false),
    ])
    func ingressWildcardCoversOneLabel(_ host: String, _ matches: Bool) throws {
        let pattern = try #require(HostPattern.ingress("*.foo.com"))
        #expect(pattern.matches(host) == matches)
    }

    @Test func gatewayWildcardIsASuffixMatch() throws {
        let pattern = try #require(HostPattern.gateway("*.example.com"))
        #expect(pattern.matches("test.example.com"))
        #expect(pattern.matches("foo.test.example.com"))
        #expect(!pattern.matches("example.com"))
    }

    @Test func requestHostIsNormalised() {
        #expect(Fixtures.request("/", host: "Foo.Example.COM:8080").hostname == "foo.example.com")
        #expect(Fixtures.request("/", host: "foo.example.com.").hostname == "foo.example.com")
        #expect(Fixtures.request("/", host: "[fd00::1]:443").hostname == "[fd00::1]")
        #expect(Fixtures.request("/", host: "").hostname == "")
    }

    @Test func invalidHostsAreRejected() {
        #expect(HostPattern.ingress("foo.*.com") == nil)
        #expect(HostPattern.ingress("*") == nil)
        #expect(HostPattern.gateway("-bad.example.com") == nil)
        #expect(HostPattern.gateway(nil) == .any)
        #expect(HostPattern.ingress("Foo.COM") == .exact("foo.com"))
    }

    /// HTTPRouteSpec.hostnames' examples: a listener `test.example.com` takes routes with that name or
    /// `*.example.com`; a listener `*.example.com` takes `*.example.com`, `test.example.com` and
    /// `foo.test.example.com`, not `example.com` or `test.example.net`.
    @Test(
        arguments: [
            ("test.example.com", "test.example.com", "test.example.com"),
            ("test.example.com", "*.example.com", "test.example.com"),
            ("test.example.com", "other.example.com", nil),
            ("*.example.com", "*.example.com", "*.example.com"),
            ("*.example.com", "test.example.com", "test.example.com"),
            ("*.example.com", "foo.test.example.com", "foo.test.example.com"),
            ("*.example.com", "*.test.example.com", "*.test.example.com"),
            ("*.test.example.com", "*.example.com", "*.test.example.com"),
            ("*.example.com", "example.com", nil),
            ("*.example.com", "test.example.net", nil),
        ] as [(String, String, String?)])
    func listenerAndRouteHostnamesIntersect(_ listener: String, _ route: String, _ expected: String?) throws {
        let a = try #require(HostPattern.gateway(listener))
        let b = try #require(HostPattern.gateway(route))
        #expect(a.intersection(b)?.description == expected)
        #expect(b.intersection(a)?.description == expected)
        #expect(HostPattern.any.intersection(b) == b)
    }

    @Test func exactHostsSortBeforeLongerThenShorterWildcards() {
        let patterns: [HostPattern] = [
            .any, .wildcard(suffix: ".com", singleLabel: false), .exact("a.b.com"),
            .wildcard(suffix: ".b.com", singleLabel: false),
        ]
        #expect(patterns.sorted().map(\.description) == ["a.b.com", "*.b.com", "*.com", "*"])
    }
}
