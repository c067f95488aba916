/// Route matches grouped by the host they apply to. A request's host picks one group — its exact name, else the
/// longest wildcard covering it, else the host-less routes — and the group's first match in precedence order
/// decides; a more specific host hides the less specific groups entirely, as virtual hosts do.
struct VirtualHosts: Sendable {
    struct Entry: Sendable {
        var match: RequestMatch
        var precedence: RoutePrecedence
        var route: MatchedRoute
    }

    private var groups: [HostPattern: [Entry]] = [:]
    /// Wildcard patterns, most specific first.
    private var wildcards: [HostPattern] = []

    mutating func add(_ entry: Entry) {
        if case .wildcard = entry.route.host, groups[entry.route.host] == nil {
            wildcards.append(entry.route.host)
            wildcards.sort()
        }
        groups[entry.route.host, default: []].append(entry)
    }

    /// Sorts every group by precedence; call once after the last `add`.
    mutating func sort() {
        for host in groups.keys { groups[host]?.sort { $0.precedence < $1.precedence } }
    }

    /// The group `hostname` falls in, in precedence order; `nil` when none covers it.
    func entries(for hostname: String) -> [Entry]? {
        if let exact = groups[.exact(hostname)] { return exact }
        if let wildcard = wildcards.first(where: { $0.matches(hostname) }) { return groups[wildcard] }
        return groups[.any]
    }

    /// The first entry of `request`'s group whose match holds.
    func route(_ request: RoutingRequest) -> MatchedRoute? {
        entries(for: request.hostname)?.first { $0.match.matches(request) }?.route
    }
}
