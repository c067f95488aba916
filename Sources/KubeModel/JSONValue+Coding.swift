import Foundation
import WeftNet

extension JSONValue {
    /// The JSON form of any Encodable value (a typed Kubernetes object → its JSON tree).
    public init(encoding value: some Encodable) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    /// This value decoded as a Decodable type (a JSON tree → a typed Kubernetes object).
    public func decoded<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(self))
    }

    /// Parses JSON text.
    public init(json text: some StringProtocol) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// Compact JSON text; object keys sorted, so equal values print equally.
    public func jsonText(pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys]
        if !pretty { encoder.outputFormatting.insert(.withoutEscapingSlashes) }
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
