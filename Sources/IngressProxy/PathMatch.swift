/// How a route matches the request path: the whole path, or a `/`-separated prefix of it.
///
/// Ingress `Prefix` and Gateway API `PathPrefix` are the same rule (PathMatchType: "semantically equivalent"):
/// element-wise on the path split by `/`, a trailing `/` ignored — `/foo` matches `/foo`, `/foo/` and `/foo/bar`
/// but not `/foobar`, and `/` matches every path (the Ingress docs' path-matching examples table).
public enum PathMatch: Sendable, Hashable, CustomStringConvertible {
    /// Case-sensitive equality: `/foo` does not match `/foo/`.
    case exact(String)
    /// The value as written; matching ignores a trailing `/`.
    case prefix(String)

    /// Whether `path` (the request's path, without query) matches.
    public func matches(_ path: String) -> Bool {
        switch self {
        case .exact(let value): return path == value
        case .prefix(let value): return Self.remainder(of: path, afterPrefix: value) != nil
        }
    }

    /// What follows a prefix in `path` when the prefix matches element-wise: `""` or a string starting with `/`
    /// (`/foo/bar` after `/foo` is `/bar`, `/foo/` after `/foo/` is `/`), `nil` when it does not match.
    static func remainder(of path: String, afterPrefix prefix: String) -> Substring? {
        let stem = Self.trimmingTrailingSlash(prefix)
        guard path.hasPrefix(stem) else { return nil }
        let rest = path.dropFirst(stem.count)
        return rest.isEmpty || rest.hasPrefix("/") ? rest : nil
    }

    /// `value` without trailing `/` (`/` itself becomes `""`).
    static func trimmingTrailingSlash(_ value: String) -> Substring {
        var stem = Substring(value)
        while stem.hasSuffix("/") { stem = stem.dropLast() }
        return stem
    }

    /// The length precedence compares: longest path first. A prefix counts without its trailing `/`, so
    /// `Prefix /foo/` and `Exact /foo` tie and the exact one wins (Ingress: "Exact over Prefix at equal length").
    var precedenceLength: Int {
        switch self {
        case .exact(let value): return value.count
        case .prefix(let value): return Self.trimmingTrailingSlash(value).count
        }
    }

    var isExact: Bool { if case .exact = self { true } else { false } }

    public var description: String {
        switch self {
        case .exact(let value): return "Exact \(value)"
        case .prefix(let value): return "Prefix \(value)"
        }
    }
}
