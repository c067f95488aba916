import Foundation
import KubeModel
import WeftNet

/// JSON text ↔ `JSONValue`, and the small path helpers the server uses on stored objects.
enum JSONCoding {
    /// Parses a request body; throws a 400 BadRequest `Status` when the body is not JSON.
    static func decode(_ bytes: some Collection<UInt8>) throws(Status) -> JSONValue {
        do {
            return try JSONValue(parsing: bytes)
        } catch {
            throw Status.badRequest("unable to parse request body as JSON: \(error)")
        }
    }

    /// Compact JSON with sorted keys. `JSONValue` (every stored object) goes through its own writer, other types
    /// (Status, Table, discovery documents) through `JSONEncoder`.
    static func encode(_ value: some Encodable) -> Data {
        if let value = value as? JSONValue { return Data(value.serialized()) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding the server's own Codable types cannot fail.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func encodeString(_ value: some Encodable) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }
}

extension JSONValue {
    /// The value at a dotted path of object keys (`metadata.name`), if every step is an object.
    func value(at path: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for key in path { current = current?[key] }
        return current
    }

    /// Sets (or with `nil`, removes) the value at a path of object keys, creating intermediate objects.
    mutating func setValue(_ newValue: JSONValue?, at path: [String]) {
        guard let first = path.first else {
            if let newValue { self = newValue }
            return
        }
        guard case .object(var object) = self else { return }
        if path.count == 1 {
            object[first] = newValue
        } else {
            var child = object[first] ?? .object([:])
            if case .object = child {} else { child = .object([:]) }
            child.setValue(newValue, at: Array(path.dropFirst()))
            object[first] = child
        }
        self = .object(object)
    }

    /// `metadata.<key>` as a string.
    func metadataString(_ key: String) -> String? { self["metadata"]?[key]?.stringValue }

    var int64Value: Int64? {
        if case .number(let n) = self, n.rounded() == n { return Int64(n) }
        return nil
    }

    /// The string labels of `metadata.labels` (non-string values are skipped).
    var labels: [String: String] {
        guard let object = self["metadata"]?["labels"]?.objectValue else { return [:] }
        return object.compactMapValues(\.stringValue)
    }
}
