import Foundation
import KubeModel
import Testing
import WeftNet

@testable import APIServer

/// Reads the gnostic `openapi.v2.Document` messages the server writes back into Swagger JSON, field by field after
/// `openapiv2/OpenAPIv2.proto` (google/gnostic-models); a field number it does not expect is an error.
enum GnosticDecoder {
    struct Unexpected: Error, CustomStringConvertible {
        var message: String
        var number: Int
        var description: String { "unexpected field \(number) in \(message)" }
    }

    static func fields(_ bytes: ArraySlice<UInt8>) throws -> [ProtobufReader.Field] {
        var reader = ProtobufReader(bytes)
        var fields: [ProtobufReader.Field] = []
        while let field = try reader.next() { fields.append(field) }
        return fields
    }

    static func payload(_ field: ProtobufReader.Field, in message: String) throws -> ArraySlice<UInt8> {
        guard case .lengthDelimited(let bytes) = field.value else {
            throw Unexpected(message: message, number: field.number)
        }
        return bytes
    }

    static func string(_ field: ProtobufReader.Field, in message: String) throws -> String {
        String(decoding: try payload(field, in: message), as: UTF8.self)
    }

    /// `openapi.v2.Any`: the value's YAML text, here always JSON.
    static func any(_ bytes: ArraySlice<UInt8>) throws -> JSONValue {
        var yaml: JSONValue = .null
        for field in try fields(bytes) {
            guard field.number == 2 else { throw Unexpected(message: "Any", number: field.number) }
            yaml = try JSONValue(parsing: try payload(field, in: "Any"))
        }
        return yaml
    }

    /// `NamedSchema` or `NamedAny`: (name, value).
    static func named(
        _ bytes: ArraySlice<UInt8>, _ message: String, value: (ArraySlice<UInt8>) throws -> JSONValue
    ) throws -> (String, JSONValue) {
        var name = ""
        var result: JSONValue = .null
        for field in try fields(bytes) {
            switch field.number {
            case 1: name = try string(field, in: message)
            case 2: result = try value(try payload(field, in: message))
            default: throw Unexpected(message: message, number: field.number)
            }
        }
        return (name, result)
    }

    static func document(_ bytes: [UInt8]) throws -> JSONValue {
        var document: [String: JSONValue] = [:]
        for field in try fields(bytes[...]) {
            switch field.number {
            case 1: document["swagger"] = .string(try string(field, in: "Document"))
            case 2:
                var info: [String: JSONValue] = [:]
                for inner in try fields(try payload(field, in: "Document")) {
                    let keys = [1: "title", 2: "version", 3: "description"]
                    guard let key = keys[inner.number] else { throw Unexpected(message: "Info", number: inner.number) }
                    info[key] = .string(try string(inner, in: "Info"))
                }
                document["info"] = .object(info)
            case 9:
                var definitions: [String: JSONValue] = [:]
                for inner in try fields(try payload(field, in: "Document")) {
                    guard inner.number == 1 else { throw Unexpected(message: "Definitions", number: inner.number) }
                    let (name, value) = try named(try payload(inner, in: "Definitions"), "NamedSchema", value: schema)
                    definitions[name] = value
                }
                document["definitions"] = .object(definitions)
            default: throw Unexpected(message: "Document", number: field.number)
            }
        }
        return .object(document)
    }

    static func schema(_ bytes: ArraySlice<UInt8>) throws -> JSONValue {
        var schema: [String: JSONValue] = [:]
        func append(_ key: String, _ value: JSONValue) {
            schema[key] = .array((schema[key]?.arrayValue ?? []) + [value])
        }
        for field in try fields(bytes) {
            let strings = [1: "$ref", 2: "format", 3: "title", 4: "description"]
            if let key = strings[field.number] {
                schema[key] = .string(try string(field, in: "Schema"))
                continue
            }
            let body = try payload(field, in: "Schema")
            switch field.number {
            case 5: schema["default"] = try any(body)
            case 19: append("required", .string(try string(field, in: "Schema")))
            case 21:
                for inner in try fields(body) {
                    switch (inner.number, inner.value) {
                    case (1, .lengthDelimited(let bytes)): schema["additionalProperties"] = try self.schema(bytes)
                    case (2, .varint(let flag)): schema["additionalProperties"] = .bool(flag != 0)
                    default: throw Unexpected(message: "AdditionalPropertiesItem", number: inner.number)
                    }
                }
            case 22:
                let types = try fields(body).map { inner in
                    guard inner.number == 1 else { throw Unexpected(message: "TypeItem", number: inner.number) }
                    return JSONValue.string(try string(inner, in: "TypeItem"))
                }
                schema["type"] = types.count == 1 ? types[0] : .array(types)
            case 23:
                let items = try fields(body).map { inner in
                    guard inner.number == 1 else { throw Unexpected(message: "ItemsItem", number: inner.number) }
                    return try self.schema(try payload(inner, in: "ItemsItem"))
                }
                schema["items"] = items.count == 1 ? items[0] : .array(items)
            case 24: append("allOf", try self.schema(body))
            case 25:
                var properties: [String: JSONValue] = [:]
                for inner in try fields(body) {
                    guard inner.number == 1 else { throw Unexpected(message: "Properties", number: inner.number) }
                    let (name, value) = try named(
                        try payload(inner, in: "Properties"), "NamedSchema", value: self.schema)
                    properties[name] = value
                }
                schema["properties"] = .object(properties)
            case 31:
                let (name, value) = try named(body, "NamedAny", value: any)
                schema[name] = value
            default: throw Unexpected(message: "Schema", number: field.number)
            }
        }
        return .object(schema)
    }
}

@Suite("OpenAPI v2 protobuf")
struct OpenAPIProtobufTests {
    static let protobufType = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

    @Test func writerWireFormat() {
        var writer = ProtobufWriter()
        writer.varint(300)
        #expect(writer.bytes == [0xAC, 0x02])

        writer = ProtobufWriter()
        writer.string(1, "hi")
        writer.bool(2, true)
        writer.message(3) { $0.string(1, "") }
        writer.string(22, "x")
        #expect(writer.bytes == [0x0A, 0x02, 0x68, 0x69, 0x10, 0x01, 0x1A, 0x02, 0x0A, 0x00, 0xB2, 0x01, 0x01, 0x78])

        // A length beyond 127 takes a two-byte varint.
        writer = ProtobufWriter()
        writer.string(1, String(repeating: "a", count: 200))
        #expect(Array(writer.bytes.prefix(3)) == [0x0A, 0xC8, 0x01])
        #expect(writer.bytes.count == 203)
    }

    /// A schema's bytes, against the numbers of `openapi.v2.Schema`: description 4, type 22 (`TypeItem.value` 1),
    /// vendor extension 31 (`NamedAny` name 1, value 2: `Any.yaml` 2).
    @Test func schemaKnownBytes() {
        var writer = ProtobufWriter()
        OpenAPI.writeSchema(
            ["type": .string("string"), "description": .string("d"), "x-a": .bool(true)], to: &writer)
        let description: [UInt8] = [0x22, 0x01, 0x64]
        let type: [UInt8] = [0xB2, 0x01, 0x08, 0x0A, 0x06] + Array("string".utf8)
        let any: [UInt8] = [0x12, 0x04] + Array("true".utf8)
        let namedAny: [UInt8] = [0x0A, 0x03] + Array("x-a".utf8) + [0x12, UInt8(any.count)] + any
        let extensionField: [UInt8] = [0xFA, 0x01, UInt8(namedAny.count)] + namedAny
        #expect(writer.bytes == description + type + extensionField)
    }

    @Test func documentRoundTrips() throws {
        let document = OpenAPI.v2Document(Resources.all)
        let decoded = try GnosticDecoder.document(OpenAPI.v2Protobuf(document))
        #expect(decoded["swagger"] == .string("2.0"))
        #expect(decoded["info"] == document["info"])
        let expected = try #require(document["definitions"]?.objectValue)
        let actual = try #require(decoded["definitions"]?.objectValue)
        #expect(Set(actual.keys) == Set(expected.keys))
        for (name, schema) in expected {
            #expect(actual[name] == schema, "\(name)")
        }
    }

    /// Free-form fields are untyped in v2 (kube-openapi reads them as `Arbitrary`, which takes nulls inside), typed
    /// in v3 (for `kubectl explain`).
    @Test func freeformIsUntypedInV2Only() throws {
        let v2 = OpenAPI.v2Document(Resources.all)
        let definitions = try #require(v2["definitions"]?.objectValue)
        let podSchema = try #require(definitions["io.k8s.api.core.v1.Pod"])
        #expect(podSchema.at("properties.spec.type") == nil)
        #expect(podSchema.at("properties.spec.x-kubernetes-preserve-unknown-fields") == .bool(true))
        #expect(podSchema.string("type") == "object")
        let objectMeta = try #require(definitions[OpenAPI.objectMetaName])
        #expect(objectMeta.at("properties.ownerReferences.type") == .string("array"))
        #expect(objectMeta.at("properties.ownerReferences.items.type") == nil)
        #expect(objectMeta.at("properties.labels.type") == .string("object"))

        let v3 = try #require(OpenAPI.v3Document(group: "", version: "v1", Resources.all))
        #expect(
            v3["components"]?["schemas"]?["io.k8s.api.core.v1.Pod"]?.at("properties.spec.type") == .string("object"))
    }

    @Test func acceptNegotiation() {
        #expect(OpenAPI.v2Format(nil) == .json)
        #expect(OpenAPI.v2Format("") == .json)
        #expect(OpenAPI.v2Format("*/*") == .json)
        #expect(OpenAPI.v2Format("application/json") == .json)
        #expect(OpenAPI.v2Format(Self.protobufType) == .protobuf)
        #expect(
            OpenAPI.v2Format("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
                == .protobuf)
        #expect(OpenAPI.v2Format("\(Self.protobufType), application/json") == .protobuf)
        #expect(OpenAPI.v2Format("application/json, \(Self.protobufType)") == .json)
        #expect(OpenAPI.v2Format("application/json;q=0.5, \(Self.protobufType)") == .protobuf)
        #expect(OpenAPI.v2Format("\(Self.protobufType);q=0, */*") == .json)
        #expect(OpenAPI.v2Format("text/html") == nil)
        #expect(OpenAPI.v2Format("application/json;q=0") == nil)
    }

    @Test func servedAsProtobuf() async throws {
        try await withServer { _, client in
            let response = try await client.request(.GET, "/openapi/v2", headers: [("Accept", Self.protobufType)])
            #expect(response.status == 200)
            // The dotted form, which Go's mime package parses.
            #expect(
                response.headers["Content-Type"].first == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            let document = try GnosticDecoder.document(Array(response.body))
            #expect(document["swagger"] == .string("2.0"))
            let definitions = try #require(document["definitions"]?.objectValue)
            let kinds = Set(definitions.values.flatMap(OpenAPITests.kinds))
            for resource in Resources.all {
                let prefix = "\(resource.group)/\(resource.version)/"
                #expect(kinds.contains(prefix + resource.kind), "\(resource.kind)")
                #expect(kinds.contains(prefix + resource.kind + "List"), "\(resource.kind)List")
            }
            // The same definitions as the JSON form.
            let json = try await client.request(.GET, "/openapi/v2", headers: [("Accept", "application/json")])
            #expect(json.headers["Content-Type"].first == "application/json")
            #expect(document["definitions"] == json.json["definitions"])

            let html = try await client.request(.GET, "/openapi/v2", headers: [("Accept", "text/html")])
            #expect(html.status == 406)
            #expect(html.json.string("reason") == "NotAcceptable")
        }
    }
}
