/// k8s.cni.cncf.io/v1 NetworkAttachmentDefinition (Multus): a secondary network, as a CNI config.
public struct NetworkAttachmentDefinition: KubeObject, FieldCodable {
    public static let resource = Resources.networkAttachmentDefinition
    /// The pod annotation that asks for secondary networks.
    public static let networksAnnotation = "k8s.v1.cni.cncf.io/networks"

    public var apiVersion = NetworkAttachmentDefinition.resource.apiVersion
    public var kind = NetworkAttachmentDefinition.resource.kind
    public var metadata = ObjectMeta()
    public var spec: NetworkAttachmentDefinitionSpec?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, config: String) {
        self.metadata = metadata
        self.spec = NetworkAttachmentDefinitionSpec(config: config)
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec),
    ]
}

/// `spec` of a NetworkAttachmentDefinition: the CNI configuration as a JSON string.
public struct NetworkAttachmentDefinitionSpec: FieldCodable {
    public var config: String?
    public var unknown = UnknownFields()

    public init() {}
    public init(config: String) { self.config = config }

    public static let fields: [CodingField<Self>] = [.optional("config", \.config)]
}
