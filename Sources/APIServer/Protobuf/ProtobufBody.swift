import KubeModel
import WeftNet

/// Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which kubectl's typed
/// clients send for `create namespace`, `create deployment` and the like, turned into the JSON object the server
/// handles otherwise.
///
/// The envelope (kubernetes/apimachinery `pkg/runtime/serializer/protobuf/protobuf.go`): the 4 bytes `k8s\0`, then a
/// `runtime.Unknown` message (`pkg/runtime/generated.proto`): `typeMeta` (1: TypeMeta with `apiVersion` = 1 and
/// `kind` = 2), `raw` (2: the object's own message), `contentEncoding` (3) and `contentType` (4), both empty here.
enum ProtobufBody {
    static let mediaType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = Array("k8s\0".utf8)

    /// The object in `body`, with `apiVersion` and `kind` from the envelope. Malformed bytes are a 400; a kind or a
    /// field this server cannot decode is a 415 naming the protobuf message and field number, so the client knows
    /// to send JSON.
    static func json(_ body: [UInt8]) throws(Status) -> JSONValue {
        guard body.starts(with: magic) else {
            throw Status.badRequest("protobuf body does not start with the Kubernetes magic bytes k8s\\0")
        }
        var apiVersion = ""
        var kind = ""
        var raw: ArraySlice<UInt8> = []
        var contentEncoding = ""
        var contentType = ""
        for field in try fields(body[magic.count...], of: "k8s.io.apimachinery.pkg.runtime.Unknown") {
            switch (field.number, field.value) {
            case (1, .lengthDelimited(let typeMeta)):
                for field in try fields(typeMeta, of: "k8s.io.apimachinery.pkg.runtime.TypeMeta") {
                    switch (field.number, field.value) {
                    case (1, .lengthDelimited(let bytes)): apiVersion = String(decoding: bytes, as: UTF8.self)
                    case (2, .lengthDelimited(let bytes)): kind = String(decoding: bytes, as: UTF8.self)
                    default: throw unexpected(field, in: "k8s.io.apimachinery.pkg.runtime.TypeMeta")
                    }
                }
            case (2, .lengthDelimited(let bytes)): raw = bytes
            case (3, .lengthDelimited(let bytes)): contentEncoding = String(decoding: bytes, as: UTF8.self)
            case (4, .lengthDelimited(let bytes)): contentType = String(decoding: bytes, as: UTF8.self)
            default: throw unexpected(field, in: "k8s.io.apimachinery.pkg.runtime.Unknown")
            }
        }
        guard contentEncoding.isEmpty else {
            throw unsupported("protobuf content encoding \(contentEncoding) is not supported")
        }
        guard contentType.isEmpty || contentType == mediaType else {
            throw unsupported("protobuf envelope content type \(contentType) is not supported")
        }
        guard !apiVersion.isEmpty, !kind.isEmpty else {
            throw Status.badRequest("protobuf body does not name its apiVersion and kind")
        }
        guard let root = KubeProtobufSchema.roots["\(apiVersion)/\(kind)"] else {
            throw unsupported("protobuf bodies of kind \(kind) (\(apiVersion)) are not supported; send JSON")
        }
        var object: [String: JSONValue]
        do throws(ProtobufToJSON.Error) {
            object = try ProtobufToJSON(messages: KubeProtobufSchema.messages).object(raw, as: root)
        } catch {
            guard case .unknownField = error else { throw Status.badRequest("invalid protobuf body: \(error)") }
            throw unsupported("\(error); send \(kind) as JSON")
        }
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return .object(object)
    }

    private typealias Field = ProtobufReader.Field

    /// All fields of an envelope message; malformed bytes are a 400.
    private static func fields(_ bytes: ArraySlice<UInt8>, of message: String) throws(Status) -> [Field] {
        var reader = ProtobufReader(bytes)
        var fields: [Field] = []
        do throws(ProtobufReader.Error) {
            while let field = try reader.next() { fields.append(field) }
        } catch {
            throw Status.badRequest("invalid protobuf body: \(message): \(error)")
        }
        return fields
    }

    private static func unexpected(_ field: Field, in message: String) -> Status {
        Status.badRequest(
            "invalid protobuf body: unexpected field \(field.number) (wire type \(field.value.wireType.rawValue)) "
                + "in \(message)")
    }

    private static func unsupported(_ message: String) -> Status {
        Status(code: 415, reason: "UnsupportedMediaType", message: message)
    }
}
