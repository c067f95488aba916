/// core/v1 ConfigMap.
public struct ConfigMap: KubeObject, FieldCodable {
    public static let resource = Resources.configMap
    public var apiVersion = ConfigMap.resource.apiVersion
    public var kind = ConfigMap.resource.kind
    public var metadata = ObjectMeta()
    public var data: [String: String]?
    /// Base64-encoded values.
    public var binaryData: [String: String]?
    public var immutable: Bool?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("data", \.data), .optional("binaryData", \.binaryData), .optional("immutable", \.immutable),
    ]
}
