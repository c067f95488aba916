import WeftNet

/// A struct whose JSON form is described by a table of fields: `Codable` comes from the table, and every key the
/// table does not name is kept in `unknown` and written back on encoding.
///
/// This is the macro-free way every modelled Kubernetes struct gets lossless coding with one line per field:
///
/// ```swift
/// public struct ServicePort: FieldCodable {
///     public var name: String?
///     public var port: Int = 0
///     public var unknown = UnknownFields()
///     public init() {}
///     public static let fields: [CodingField<Self>] = [.optional("name", \.name), .value("port", \.port)]
/// }
/// ```
///
/// Decoding starts from `init()`, so a `.value` field absent from the input keeps its default. A JSON `null` is
/// treated as absent (as the API server does).
public protocol FieldCodable: Codable, Sendable, Hashable {
    /// An empty value: the starting point of decoding.
    init()
    /// The modelled JSON keys, in encoding order.
    static var fields: [CodingField<Self>] { get }
    /// The keys `fields` does not name, kept verbatim.
    var unknown: UnknownFields { get set }
}

extension FieldCodable {
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        let fields = Self.fields
        for field in fields { try field.decode(&self, c) }
        var unknown: [String: JSONValue] = [:]
        for key in c.allKeys where !fields.contains(where: { $0.name == key.stringValue }) {
            unknown[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
        }
        self.unknown = UnknownFields(unknown)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for field in Self.fields { try field.encode(self, &c) }
        try unknown.encode(to: encoder)
    }
}

/// One JSON key of a `FieldCodable` struct and the property it is stored in.
public struct CodingField<Root>: Sendable {
    /// The JSON key.
    public let name: String
    let decode: @Sendable (inout Root, KeyedDecodingContainer<AnyCodingKey>) throws -> Void
    let encode: @Sendable (Root, inout KeyedEncodingContainer<AnyCodingKey>) throws -> Void

    /// An optional property: absent (or `null`) decodes as `nil`, `nil` is not encoded.
    public static func optional<Value: Codable & Sendable>(
        _ name: String, _ keyPath: WritableKeyPath<Root, Value?> & Sendable
    ) -> CodingField {
        let key = AnyCodingKey(name)
        return CodingField(
            name: name,
            decode: { root, c in root[keyPath: keyPath] = try c.decodeIfPresent(Value.self, forKey: key) },
            encode: { root, c in try c.encodeIfPresent(root[keyPath: keyPath], forKey: key) }
        )
    }

    /// A property that is always encoded; absent (or `null`) on decoding keeps the value `init()` gave it.
    public static func value<Value: Codable & Sendable>(
        _ name: String, _ keyPath: WritableKeyPath<Root, Value> & Sendable
    ) -> CodingField {
        let key = AnyCodingKey(name)
        return CodingField(
            name: name,
            decode: { root, c in
                if let value = try c.decodeIfPresent(Value.self, forKey: key) { root[keyPath: keyPath] = value }
            },
            encode: { root, c in try c.encode(root[keyPath: keyPath], forKey: key) }
        )
    }
}
