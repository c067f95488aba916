import WeftNet

/// A coding key for any JSON object key.
public struct AnyCodingKey: CodingKey, Hashable, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// The keys of a JSON object that a struct does not model, kept so that encoding writes them back unchanged.
///
/// Pattern for a modelled struct (see `ObjectMeta`): decode the known keys with its `CodingKeys`, then
/// `unknown = try UnknownFields(from: decoder, known: CodingKeys.allCases)`; encode the known keys, then
/// `try unknown.encode(to: encoder)`. Most structs get this from `FieldCodable` (a table of fields) instead of
/// writing the coding by hand.
public struct UnknownFields: Sendable, Hashable {
    public var values: [String: JSONValue]

    public init(_ values: [String: JSONValue] = [:]) { self.values = values }

    public init<K: CodingKey>(from decoder: any Decoder, known: some Sequence<K>) throws {
        let knownNames = Set(known.map(\.stringValue))
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        var values: [String: JSONValue] = [:]
        for key in c.allKeys where !knownNames.contains(key.stringValue) {
            values[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
        }
        self.values = values
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (k, v) in values { try c.encode(v, forKey: AnyCodingKey(k)) }
    }

    public var isEmpty: Bool { values.isEmpty }
}
