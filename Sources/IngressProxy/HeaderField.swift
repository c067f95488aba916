/// One header line of a request or response. Names compare case-insensitively (RFC 9110 §5.1); the list a proxy
/// hands over keeps order and repeats.
public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Whether this field's name is `name`, ignoring case.
    public func hasName(_ name: String) -> Bool { self.name.lowercased() == name.lowercased() }
}

extension [HeaderField] {
    /// The values of every field named `name`, joined with `,` as RFC 9110 §5.3 combines repeated fields; `nil`
    /// when there is none.
    public func combinedValue(of name: String) -> String? {
        let values = filter { $0.hasName(name) }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}
