import Foundation
import WeftNet

/// Turns protobuf messages into the JSON tree Kubernetes' JSON encoding gives the same Go object, driven by a table
/// of `ProtobufMessage`s (`KubeProtobufSchema.messages`).
struct ProtobufToJSON {
    /// Why a message cannot be converted.
    enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The bytes of `message` are not well-formed protobuf.
        case malformed(message: String, ProtobufReader.Error)
        /// `message` has a field the schema does not know.
        case unknownField(message: String, number: Int)
        /// A field arrived with another wire type than its kind has.
        case wrongWireType(message: String, number: Int, ProtobufReader.WireType)
        /// The schema names a message it does not define (a bug in the table).
        case unknownMessage(String)

        var description: String {
            switch self {
            case .malformed(let message, let error): "\(message): \(error)"
            case .unknownField(let message, let number):
                "field \(number) of protobuf message \(message) is not supported by this server"
            case .wrongWireType(let message, let number, let wireType):
                "field \(number) of protobuf message \(message) has the wrong wire type \(wireType.rawValue)"
            case .unknownMessage(let message): "protobuf message \(message) has no schema"
            }
        }
    }

    let messages: [String: ProtobufMessage]

    /// The JSON object for `bytes`, an encoded message of type `type`.
    func object(_ bytes: ArraySlice<UInt8>, as type: String) throws(Error) -> [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        try decode(bytes, as: type, into: &object)
        return object
    }

    /// Decodes `bytes` into `object`: repeated fields append, a message field seen again merges, a scalar seen again
    /// replaces, as protobuf parsers do.
    private func decode(
        _ bytes: ArraySlice<UInt8>, as type: String, into object: inout [String: JSONValue]
    ) throws(Error) {
        guard let message = messages[type] else { throw .unknownMessage(type) }
        var reader = ProtobufReader(bytes)
        while let wireField = try read(&reader, in: type) {
            guard let field = message.fields[wireField.number] else {
                throw .unknownField(message: type, number: wireField.number)
            }
            switch field.kind {
            case .inline(let inner):
                try decode(try payload(wireField, in: type), as: inner, into: &object)
            case .message(let inner) where !field.repeated:
                var nested = object[field.name]?.objectValue ?? [:]
                try decode(try payload(wireField, in: type), as: inner, into: &nested)
                object[field.name] = .object(nested)
            case .map(let valueKind):
                let (key, value) = try mapEntry(try payload(wireField, in: type), of: valueKind, in: type, field)
                var map = object[field.name]?.objectValue ?? [:]
                map[key] = value
                object[field.name] = .object(map)
            default:
                let value = try self.value(wireField, field.kind, in: type)
                if field.repeated {
                    object[field.name] = .array((object[field.name]?.arrayValue ?? []) + [value])
                } else {
                    object[field.name] = field.emitsZero || !Self.isZero(value) ? value : nil
                }
            }
        }
    }

    private func read(_ reader: inout ProtobufReader, in type: String) throws(Error) -> ProtobufReader.Field? {
        do throws(ProtobufReader.Error) {
            return try reader.next()
        } catch {
            throw .malformed(message: type, error)
        }
    }

    /// The bytes of a length-delimited field.
    private func payload(_ field: ProtobufReader.Field, in type: String) throws(Error) -> ArraySlice<UInt8> {
        guard case .lengthDelimited(let bytes) = field.value else {
            throw .wrongWireType(message: type, number: field.number, field.value.wireType)
        }
        return bytes
    }

    /// One scalar or message value.
    private func value(
        _ field: ProtobufReader.Field, _ kind: ProtobufMessage.Kind, in type: String
    ) throws(Error) -> JSONValue {
        switch (kind, field.value) {
        case (.bool, .varint(let raw)): return .bool(raw != 0)
        case (.int32, .varint(let raw)): return .number(Double(Int32(truncatingIfNeeded: raw)))
        case (.int64, .varint(let raw)): return .number(Double(Int64(bitPattern: raw)))
        case (.string, .lengthDelimited(let bytes)): return .string(String(decoding: bytes, as: UTF8.self))
        case (.bytes, .lengthDelimited(let bytes)): return .string(Data(bytes).base64EncodedString())
        case (.message(let inner), .lengthDelimited(let bytes)): return .object(try object(bytes, as: inner))
        case (.intOrString, .lengthDelimited(let bytes)):
            let fields = try object(bytes, as: KubeProtobufSchema.intOrString)
            // intstr.Type: 0 is Int, 1 is String.
            if fields["type"] == .number(1) { return fields["strVal"] ?? .string("") }
            return fields["intVal"] ?? .number(0)
        case (.quantity, .lengthDelimited(let bytes)):
            return try object(bytes, as: KubeProtobufSchema.quantity)["string"] ?? .string("0")
        case (.time, .lengthDelimited(let bytes)):
            // metav1.Time marshals the zero time as no bytes at all; JSON writes it as null.
            guard !bytes.isEmpty else { return .null }
            var seconds = 0.0
            if case .number(let value)? = try object(bytes, as: KubeProtobufSchema.time)["seconds"] { seconds = value }
            // RFC 3339 in UTC with whole seconds, as metav1.Time's MarshalJSON writes it.
            return .string(Date(timeIntervalSince1970: seconds).formatted(.iso8601))
        default:
            throw .wrongWireType(message: type, number: field.number, field.value.wireType)
        }
    }

    /// A map entry: key in field 1, value in field 2; either may be missing and is then the zero value.
    private func mapEntry(
        _ bytes: ArraySlice<UInt8>, of valueKind: ProtobufMessage.Kind, in type: String, _ field: ProtobufMessage.Field
    ) throws(Error) -> (String, JSONValue) {
        let entryType = "\(type).\(field.name) entry"
        var reader = ProtobufReader(bytes)
        var key = ""
        var value: JSONValue?
        while let entryField = try read(&reader, in: entryType) {
            switch entryField.number {
            case 1: key = String(decoding: try payload(entryField, in: entryType), as: UTF8.self)
            case 2: value = try self.value(entryField, valueKind, in: entryType)
            default: throw .unknownField(message: entryType, number: entryField.number)
            }
        }
        if let value { return (key, value) }
        // The zero values of the map value kinds the schema uses: "", no bytes, Quantity 0.
        switch valueKind {
        case .quantity: return (key, .string("0"))
        default: return (key, .string(""))
        }
    }

    private static func isZero(_ value: JSONValue) -> Bool {
        switch value {
        case .bool(false), .number(0), .string(""): true
        default: false
        }
    }
}
