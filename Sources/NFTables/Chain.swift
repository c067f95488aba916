/// An nftables chain. A chain with a `hook` is a base chain that sees packets; the others are only jumped to.
public struct Chain: Sendable, Hashable {
    public var family: Family
    public var table: String
    public var name: String
    /// The base chain's type; required with `hook`.
    public var type: ChainType?
    /// The hook of a base chain; `nil` for a regular chain.
    public var hook: Hook?
    /// The base chain's priority as nft writes it: `"dstnat"`, `"srcnat"`, `"filter"`, `"-100"`, `"dstnat - 10"`.
    public var priority: String?
    /// The base chain's policy: `"accept"` or `"drop"`.
    public var policy: String?
    /// The device of a `netdev` (or `inet`) `ingress` chain.
    public var device: String?
    /// A comment stored with the chain (at most 128 bytes; `"` is rendered as `'`).
    public var comment: String?

    public init(
        family: Family, table: String, name: String, type: ChainType? = nil, hook: Hook? = nil,
        priority: String? = nil, policy: String? = nil, device: String? = nil, comment: String? = nil
    ) {
        self.family = family
        self.table = table
        self.name = name
        self.type = type
        self.hook = hook
        self.priority = priority
        self.policy = policy
        self.device = device
        self.comment = comment
    }

    /// True when the chain is attached to a hook.
    public var isBaseChain: Bool { hook != nil }
}
