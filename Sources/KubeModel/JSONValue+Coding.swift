import Foundation
import WeftNet

extension JSONValue {
    /// The JSON form of any Encodable value (a typed Kubernetes object → its JSON tree).
    public init(encoding value: some Encodable) throws {
        self = try JSONValue(parsing: JSONEncoder().encode(value))
    }

    /// This value decoded as a Decodable type (a JSON tree → a typed Kubernetes object), straight from the tree.
    public func decoded<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSONValueDecoder().decode(T.self, from: self)
    }

    /// Parses JSON text.
    public init(json text: some StringProtocol) throws {
        self = try JSONValue(parsing: text.utf8)
    }

    /// Compact JSON text; object keys sorted, so equal values print equally.
    public func jsonText(pretty: Bool = false) throws -> String {
        if !pretty { return serializedString }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
