/// An nftables table: a namespace for chains, sets and maps within one family.
public struct Table: Sendable, Hashable {
    public var family: Family
    public var name: String
    /// A comment stored with the table (at most 128 bytes; `"` is rendered as `'`).
    public var comment: String?

    public init(family: Family, name: String, comment: String? = nil) {
        self.family = family
        self.name = name
        self.comment = comment
    }
}
