/// An nftables set, or a map when `mapType` is set (a verdict map when `mapType` is `"verdict"`).
public struct NFTSet: Sendable, Hashable {
    public var family: Family
    public var table: String
    public var name: String
    /// The key's data type, e.g. `"ipv4_addr"` or `"ipv4_addr . inet_proto . inet_service"`. Give this or `typeOf`.
    public var type: String?
    /// The key described by expressions, e.g. `"ip daddr . th dport"`. Give this or `type`.
    public var typeOf: String?
    /// The value type of a map (`"verdict"`, `"ipv4_addr . inet_service"`, or with `typeOf` an expression);
    /// `nil` for a set.
    public var mapType: String?
    public var flags: Set<SetFlag>
    /// The default timeout of elements, e.g. `"30s"`, `"1h"`.
    public var timeout: String?
    /// A comment stored with the set (at most 128 bytes; `"` is rendered as `'`).
    public var comment: String?

    public init(
        family: Family, table: String, name: String, type: String? = nil, typeOf: String? = nil,
        mapType: String? = nil, flags: Set<SetFlag> = [], timeout: String? = nil, comment: String? = nil
    ) {
        self.family = family
        self.table = table
        self.name = name
        self.type = type
        self.typeOf = typeOf
        self.mapType = mapType
        self.flags = flags
        self.timeout = timeout
        self.comment = comment
    }

    /// True for a map (the set has values).
    public var isMap: Bool { mapType != nil }
    /// True for a verdict map.
    public var isVerdictMap: Bool { mapType == "verdict" }
}
