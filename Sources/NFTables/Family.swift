/// An nftables address family: which packets a table's chains see.
public enum Family: String, Sendable, Hashable, CaseIterable, Codable {
    case ip, ip6, inet, arp, bridge, netdev
}

/// The type of a base chain.
public enum ChainType: String, Sendable, Hashable, CaseIterable, Codable {
    case filter, nat, route
}

/// The netfilter hook a base chain is attached to.
public enum Hook: String, Sendable, Hashable, CaseIterable, Codable {
    case prerouting, input, forward, output, postrouting, ingress
}

/// A flag of a set or map.
public enum SetFlag: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// The set's content cannot change after it was created.
    case constant
    /// The set is updated from the packet path (`add @set { … }`, `update @set { … }`).
    case dynamic
    /// Elements may be prefixes and ranges.
    case interval
    /// Elements may expire.
    case timeout

    public static func < (lhs: SetFlag, rhs: SetFlag) -> Bool { lhs.rawValue < rhs.rawValue }
}
