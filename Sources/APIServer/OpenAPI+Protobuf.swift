import WeftNet

/// `/openapi/v2` in protobuf: the gnostic `openapi.v2.Document` message (google/gnostic-models,
/// `openapiv2/OpenAPIv2.proto`), the only form client-go's `DiscoveryClient.OpenAPISchema` takes: it asks for
/// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` alone and `proto.Unmarshal`s the body.
extension OpenAPI {
    /// The media types a client asks for the protobuf v2 document by: kubectl sends the first, deprecated one.
    static let v2ProtobufMediaTypes = [
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    ]

    /// The Content-Type of the protobuf v2 document, whichever was asked for, as kube-openapi's handler
    /// (`RegisterOpenAPIVersionedService`) answers: client-go parses it with Go's `mime.ParseMediaType`, which
    /// refuses the `@` of the deprecated form ("mime: unexpected content after media subtype").
    static let v2ProtobufContentType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

    /// The v2 document (`v2Document`) as an `openapi.v2.Document`: `swagger` (1), `info` (2) and `definitions` (9).
    ///
    /// Paths are left out: kubectl 1.32 reads the definitions (client-side validation: `LookupResource` by
    /// `x-kubernetes-group-version-kind`, then kube-openapi's `ValidateModel`) and, of the paths, only the PATCH
    /// operations' `consumes` (apply's `Patcher.getPatchTypeFromOpenAPI`), where a PATCH without strategic merge
    /// patch and no PATCH at all both leave apply to the types compiled into kubectl, as with no v2 document.
    static func v2Protobuf(_ document: JSONValue) -> [UInt8] {
        var writer = ProtobufWriter()
        if let swagger = document["swagger"]?.stringValue { writer.string(1, swagger) }
        if let info = document["info"]?.objectValue {
            writer.message(2) { message in
                for (number, key) in [(1, "title"), (2, "version"), (3, "description")] {
                    if let value = info[key]?.stringValue { message.string(number, value) }
                }
            }
        }
        let definitions = document["definitions"]?.objectValue ?? [:]
        writer.message(9) { message in
            for (name, schema) in definitions.sorted(by: { $0.key < $1.key }) {
                message.message(1) { named in writeNamed(name, schema, to: &named) }
            }
        }
        return writer.bytes
    }

    /// A `NamedSchema` (the entry of `Definitions` and `Properties`): name (1), schema (2).
    private static func writeNamed(_ name: String, _ schema: JSONValue, to writer: inout ProtobufWriter) {
        writer.string(1, name)
        writer.message(2) { writeSchema(schema.objectValue ?? [:], to: &$0) }
    }

    /// An `openapi.v2.Schema` from the JSON Schema keys Weft's documents use (the round-trip test in `OpenAPITests`
    /// holds that none is lost), in field-number order. `default` and the vendor extensions (`x-…`) are
    /// `openapi.v2.Any`s whose `yaml` (2) is the value's JSON text, which is YAML: kube-openapi reads extensions
    /// with `yaml.Unmarshal` of that field (`VendorExtensionToMap`).
    static func writeSchema(_ schema: [String: JSONValue], to writer: inout ProtobufWriter) {
        for (number, key) in [(1, "$ref"), (2, "format"), (3, "title"), (4, "description")] {
            if let value = schema[key]?.stringValue { writer.string(number, value) }
        }
        if let value = schema["default"] { writer.message(5) { $0.string(2, value.serializedString) } }
        for required in schema["required"]?.arrayValue ?? [] {
            if let name = required.stringValue { writer.string(19, name) }
        }
        switch schema["additionalProperties"] {
        case .object(let inner): writer.message(21) { item in item.message(1) { writeSchema(inner, to: &$0) } }
        case .bool(let allowed): writer.message(21) { $0.bool(2, allowed) }
        default: break
        }
        switch schema["type"] {
        case .string(let type): writer.message(22) { $0.string(1, type) }
        case .array(let types):
            writer.message(22) { item in for type in types { item.string(1, type.stringValue ?? "") } }
        default: break
        }
        switch schema["items"] {
        case .object(let inner): writer.message(23) { item in item.message(1) { writeSchema(inner, to: &$0) } }
        case .array(let schemas):
            writer.message(23) { item in
                for inner in schemas { item.message(1) { writeSchema(inner.objectValue ?? [:], to: &$0) } }
            }
        default: break
        }
        for inner in schema["allOf"]?.arrayValue ?? [] {
            writer.message(24) { writeSchema(inner.objectValue ?? [:], to: &$0) }
        }
        if let properties = schema["properties"]?.objectValue {
            writer.message(25) { message in
                for (name, property) in properties.sorted(by: { $0.key < $1.key }) {
                    message.message(1) { writeNamed(name, property, to: &$0) }
                }
            }
        }
        for (name, value) in schema.sorted(by: { $0.key < $1.key }) where name.hasPrefix("x-") {
            writer.message(31) { named in
                named.string(1, name)
                named.message(2) { $0.string(2, value.serializedString) }
            }
        }
    }
}
