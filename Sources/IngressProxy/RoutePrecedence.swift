/// Where a route match stands among the others of its host: the API's own ranks, then the tie-breaks both
/// Gateway API and Weft's Ingress use — the oldest object, then `namespace/name`, then list order.
struct RoutePrecedence: Sendable, Hashable, Comparable {
    /// Lower is stronger; compared element by element.
    var ranks: [Int]
    /// RFC 3339 creation timestamp; an object without one sorts after those with.
    var created: String?
    var object: ObjectKey
    /// Rule and match (or path) index inside the object.
    var position: [Int]

    /// Gateway API (HTTPRouteRule.matches): an Exact path, then the PathPrefix with the most characters, a
    /// method match, the most header matches, the most query parameter matches.
    static func gateway(
        _ match: RequestMatch, created: String?, object: ObjectKey, rule: Int, match index: Int
    ) -> RoutePrecedence {
        RoutePrecedence(
            ranks: [
                match.path.isExact ? 0 : 1, -match.path.precedenceLength, match.method == nil ? 1 : 0,
                -match.headers.count, -match.queryParameters.count,
            ],
            created: created, object: object, position: [rule, index])
    }

    /// Ingress ("Multiple matches" in the Ingress docs): the longest path, then Exact over Prefix.
    static func ingress(_ path: PathMatch, created: String?, object: ObjectKey, rule: Int, path index: Int)
        -> RoutePrecedence
    {
        RoutePrecedence(
            ranks: [-path.precedenceLength, path.isExact ? 0 : 1], created: created, object: object,
            position: [rule, index])
    }

    static func < (l: Self, r: Self) -> Bool {
        if l.ranks != r.ranks { return l.ranks.lexicographicallyPrecedes(r.ranks) }
        if l.created != r.created {
            guard let a = l.created else { return false }
            guard let b = r.created else { return true }
            return a < b
        }
        if l.object != r.object { return l.object < r.object }
        return l.position.lexicographicallyPrecedes(r.position)
    }
}
