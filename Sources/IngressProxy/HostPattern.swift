/// A host a route or certificate applies to: every host, one exact name, or a wildcard (`*.example.com`).
///
/// The two APIs read wildcards differently: an Ingress `*.foo.com` covers exactly one more label (`bar.foo.com`,
/// not `baz.bar.foo.com` — the Ingress docs' hostname wildcards table), a Gateway API `*.example.com` any number
/// of them (Listener.hostname: "interpreted as a suffix match"). The pattern records which.
public enum HostPattern: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// No host given: every request.
    case any
    case exact(String)
    /// `*` + `suffix` (the suffix starts with `.`); `singleLabel` for Ingress semantics.
    case wildcard(suffix: String, singleLabel: Bool)

    /// Parses an Ingress rule's or TLS entry's host (`nil` or empty = any). `nil` result: not a valid host.
    public static func ingress(_ host: String?) -> HostPattern? { parse(host, singleLabel: true) }

    /// Parses a Gateway API hostname (`nil` or empty = any). `nil` result: not a valid hostname.
    public static func gateway(_ hostname: String?) -> HostPattern? { parse(hostname, singleLabel: false) }

    private static func parse(_ text: String?, singleLabel: Bool) -> HostPattern? {
        guard let text, !text.isEmpty else { return .any }
        let name = text.lowercased()
        if name.hasPrefix("*.") {
            let suffix = String(name.dropFirst())
            return isDNSName(suffix.dropFirst()) ? .wildcard(suffix: suffix, singleLabel: singleLabel) : nil
        }
        return isDNSName(Substring(name)) ? .exact(name) : nil
    }

    /// RFC 1123 labels of letters, digits and `-`, not starting or ending with `-`; no `*`.
    private static func isDNSName(_ name: Substring) -> Bool {
        guard !name.isEmpty, name.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// Whether a request's host name (already lowercased, port stripped) falls under this pattern.
    public func matches(_ hostname: String) -> Bool {
        switch self {
        case .any: return true
        case .exact(let name): return hostname == name
        case .wildcard(let suffix, let singleLabel):
            guard hostname.hasSuffix(suffix), hostname.count > suffix.count else { return false }
            return !singleLabel || !hostname.dropLast(suffix.count).contains(".")
        }
    }

    /// The narrower of a Gateway listener's hostname and a route's, or `nil` when they share no host
    /// (HTTPRouteSpec.hostnames: "there must be at least one intersecting hostname"; `*.example.com` and
    /// `foo.example.com` intersect in `foo.example.com`).
    public func intersection(_ other: HostPattern) -> HostPattern? {
        switch (self, other) {
        case (.any, _): return other
        case (_, .any): return self
        case (.exact(let a), .exact(let b)): return a == b ? self : nil
        case (.exact(let name), .wildcard): return other.matches(name) ? self : nil
        case (.wildcard, .exact(let name)): return matches(name) ? other : nil
        case (.wildcard(let a, _), .wildcard(let b, _)):
            if a == b { return self }
            if a.hasSuffix(b) { return self }
            if b.hasSuffix(a) { return other }
            return nil
        }
    }

    /// More specific first: exact names, then wildcards by longer suffix, then `any` — the order in which a
    /// request's host picks among patterns (Ingress: exact hosts before wildcards; Gateway API: most characters in
    /// a matching non-wildcard hostname, then in a matching hostname).
    public static func < (l: HostPattern, r: HostPattern) -> Bool {
        func rank(_ p: HostPattern) -> (Int, Int, String) {
            switch p {
            case .exact(let name): return (0, 0, name)
            case .wildcard(let suffix, _): return (1, -suffix.count, suffix)
            case .any: return (2, 0, "")
            }
        }
        return rank(l) < rank(r)
    }

    public var description: String {
        switch self {
        case .any: return "*"
        case .exact(let name): return name
        case .wildcard(let suffix, _): return "*\(suffix)"
        }
    }
}
