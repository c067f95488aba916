import Foundation

/// core/v1 Secret. `data` values are base64, as on the wire; `stringData` is write-only plain text.
public struct Secret: KubeObject, FieldCodable {
    public static let resource = Resources.secret
    public var apiVersion = Secret.resource.apiVersion
    public var kind = Secret.resource.kind
    public var metadata = ObjectMeta()
    /// `Opaque`, `kubernetes.io/tls`, `kubernetes.io/service-account-token`, ….
    public var type: String?
    /// Base64-encoded values.
    public var data: [String: String]?
    public var stringData: [String: String]?
    public var immutable: Bool?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, type: String? = nil, data: [String: String]? = nil) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("type", \.type), .optional("data", \.data), .optional("stringData", \.stringData),
        .optional("immutable", \.immutable),
    ]

    /// The bytes of a key: `stringData` wins over `data` (as the API server merges them); `nil` if the key is
    /// missing or its `data` value is not valid base64.
    public func value(forKey key: String) -> [UInt8]? {
        if let text = stringData?[key] { return Array(text.utf8) }
        guard let encoded = data?[key], let decoded = Data(base64Encoded: encoded) else { return nil }
        return Array(decoded)
    }

    /// Sets `data[key]` to the base64 form of `bytes`.
    public mutating func setValue(_ bytes: [UInt8], forKey key: String) {
        data = data ?? [:]
        data?[key] = Data(bytes).base64EncodedString()
    }
}
