/// An element of a set or map, in nft's text syntax.
public struct Element: Sendable, Hashable {
    public var family: Family
    public var table: String
    /// The set or map the element belongs to.
    public var set: String
    /// The key, e.g. `"10.0.0.1"`, `"10.0.0.0/24"`, `"10.0.0.1 . tcp . 80"`.
    public var key: String
    /// The value of a map element, e.g. `"goto svc-a"`, `"drop"`, `"10.1.0.5 . 8080"`; `nil` in a set.
    public var value: String?
    /// A comment stored with the element (at most 128 bytes; `"` is rendered as `'`).
    public var comment: String?
    /// The element's timeout, e.g. `"30s"`, `"1h1m"` (the set needs the `timeout` flag).
    public var timeout: String?

    public init(
        family: Family, table: String, set: String, key: String, value: String? = nil, comment: String? = nil,
        timeout: String? = nil
    ) {
        self.family = family
        self.table = table
        self.set = set
        self.key = key
        self.value = value
        self.comment = comment
        self.timeout = timeout
    }
}
