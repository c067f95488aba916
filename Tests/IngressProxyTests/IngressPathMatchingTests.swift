import KubeModel
import Testing

@testable import IngressProxy

/// Every row of the Kubernetes docs' Ingress path-matching examples table
/// (concepts/services-networking/ingress, "Examples"), through a whole `RouteTable`: each path sends to its own
/// Service, and the Ingress's defaultBackend catches what no path matches.
struct IngressPathMatchingTests {
    struct Row: Sendable, CustomTestStringConvertible {
        /// `(pathType, path)` in the Ingress's order.
        var paths: [(String, String)]
        var requests: [String]
        /// Index into `paths` of the path that must win, `nil` for "No" (the default backend).
        var winner: Int?
        var testDescription: String {
            "\(paths.map { "\($0.0) \($0.1)" }.joined(separator: ", ")) ← \(requests.joined(separator: ", "))"
        }
    }

    static let rows: [Row] = [
        Row(paths: [("Prefix", "/")], requests: ["/", "/foo", "/aaa/bbb/ccc", "/foo/"], winner: 0),
        Row(paths: [("Exact", "/foo")], requests: ["/foo"], winner: 0),
        Row(paths: [("Exact", "/foo")], requests: ["/bar"], winner: nil),
        Row(paths: [("Exact", "/foo")], requests: ["/foo/"], winner: nil),
        Row(paths: [("Exact", "/foo/")], requests: ["/foo"], winner: nil),
        Row(paths: [("Prefix", "/foo")], requests: ["/foo", "/foo/"], winner: 0),
        Row(paths: [("Prefix", "/foo/")], requests: ["/foo", "/foo/"], winner: 0),
        Row(paths: [("Prefix", "/aaa/bb")], requests: ["/aaa/bbb"], winner: nil),
        Row(paths: [("Prefix", "/aaa/bbb")], requests: ["/aaa/bbb"], winner: 0),
        // Yes, ignores trailing slash.
        Row(paths: [("Prefix", "/aaa/bbb/")], requests: ["/aaa/bbb"], winner: 0),
        // Yes, matches trailing slash.
        Row(paths: [("Prefix", "/aaa/bbb")], requests: ["/aaa/bbb/"], winner: 0),
        // Yes, matches subpath.
        Row(paths: [("Prefix", "/aaa/bbb")], requests: ["/aaa/bbb/ccc"], winner: 0),
        // No, does not match string prefix.
        Row(paths: [("Prefix", "/aaa/bbb")], requests: ["/aaa/bbbxyz"], winner: nil),
        // Yes, matches /aaa prefix.
        Row(paths: [("Prefix", "/"), ("Prefix", "/aaa")], requests: ["/aaa/ccc"], winner: 1),
        // Yes, matches /aaa/bbb prefix.
        Row(paths: [("Prefix", "/"), ("Prefix", "/aaa"), ("Prefix", "/aaa/bbb")], requests: ["/aaa/bbb"], winner: 2),
        // Yes, matches / prefix.
        Row(paths: [("Prefix", "/"), ("Prefix", "/aaa"), ("Prefix", "/aaa/bbb")], requests: ["/ccc"], winner: 0),
        // No, uses default backend.
        Row(paths: [("Prefix", "/aaa")], requests: ["/ccc"], winner: nil),
        // Mixed: yes, prefers Exact — listed both ways round.
        Row(paths: [("Prefix", "/foo"), ("Exact", "/foo")], requests: ["/foo"], winner: 1),
        Row(paths: [("Exact", "/foo"), ("Prefix", "/foo")], requests: ["/foo"], winner: 0),
    ]

    static func table(_ paths: [(String, String)]) throws -> RouteTable {
        var yaml = """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: table, namespace: default}
            spec:
              ingressClassName: weft
              defaultBackend: {service: {name: fallback, port: {number: 80}}}
              rules:
              - http:
                  paths:

            """
        for (index, (type, path)) in paths.enumerated() {
            yaml +=
                "      - {path: \"\(path)\", pathType: \(type),\n"
                + "         backend: {service: {name: svc\(index), port: {number: 80}}}}\n"
        }
        for index in paths.indices { yaml += Fixtures.service("svc\(index)", address: "10.0.0.\(index + 1)") }
        yaml += Fixtures.service("fallback", address: "10.0.0.99")
        return try Fixtures.table(yaml)
    }

    @Test(arguments: rows)
    func docsExample(_ row: Row) throws {
        let table = try Self.table(row.paths)
        #expect(table.skipped.isEmpty)
        let expected = row.winner.map { "default/svc\($0):80" } ?? "default/fallback:80"
        for path in row.requests {
            #expect(Fixtures.destination(table, Fixtures.request(path)) == expected, "request \(path)")
        }
    }

    @Test func implementationSpecificIsPrefix() throws {
        let table = try Self.table([("ImplementationSpecific", "/app")])
        #expect(Fixtures.destination(table, Fixtures.request("/app/x")) == "default/svc0:80")
        #expect(Fixtures.destination(table, Fixtures.request("/application")) == "default/fallback:80")
    }

    @Test func longestPathWinsWhateverTheOrder() throws {
        let table = try Self.table([("Prefix", "/a/b/c"), ("Exact", "/a/b"), ("Prefix", "/a")])
        #expect(Fixtures.destination(table, Fixtures.request("/a/b/c/d")) == "default/svc0:80")
        #expect(Fixtures.destination(table, Fixtures.request("/a/b")) == "default/svc1:80")
        #expect(Fixtures.destination(table, Fixtures.request("/a/b/")) == "default/svc2:80")
    }

    @Test func invalidPathsAreSkippedAndTheOthersServed() throws {
        let table = try Self.table([
            ("Prefix", "relative"), ("Exact", "/a//b"), ("Prefix", "/x/.."), ("Regex", "/r"), ("Prefix", "/ok"),
        ])
        #expect(
            table.skipped.map(\.description) == [
                "ingress/default/table: rule 0 path 0: path \"relative\" must be an absolute path",
                "ingress/default/table: rule 0 path 1: path \"/a//b\" must not contain //",
                "ingress/default/table: rule 0 path 2: path \"/x/..\" must not end with /..",
                "ingress/default/table: rule 0 path 3: pathType \"Regex\" is not supported",
            ])
        #expect(Fixtures.destination(table, Fixtures.request("/ok/1")) == "default/svc4:80")
        #expect(Fixtures.destination(table, Fixtures.request("/a//b")) == "default/fallback:80")
    }

    @Test func pathMatchIsElementWise() {
        #expect(PathMatch.prefix("/").matches("/anything"))
        #expect(PathMatch.prefix("/foo").matches("/foo/bar"))
        #expect(!PathMatch.prefix("/foo").matches("/foobar"))
        #expect(!PathMatch.prefix("/foo/bar").matches("/foo"))
        #expect(PathMatch.prefix("/foo///").matches("/foo"))
        #expect(!PathMatch.exact("/Foo").matches("/foo"))
    }
}
