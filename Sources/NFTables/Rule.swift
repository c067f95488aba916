/// An nftables rule: a statement list in a chain, in nft's text syntax.
public struct Rule: Sendable, Hashable {
    public var family: Family
    public var table: String
    public var chain: String
    /// The rule's expressions and statements, e.g. `"ip saddr @pods masquerade"`, without the comment.
    public var body: String
    /// A comment stored with the rule (at most 128 bytes; `"` is rendered as `'`).
    public var comment: String?
    /// The kernel's handle of the rule. Identifies the rule for `delete` and `replace`; for `add` it is the rule to
    /// add after and for `insert` the rule to insert before. Listing fills it in.
    public var handle: Int?

    public init(
        family: Family, table: String, chain: String, body: String, comment: String? = nil, handle: Int? = nil
    ) {
        self.family = family
        self.table = table
        self.chain = chain
        self.body = body
        self.comment = comment
        self.handle = handle
    }
}
