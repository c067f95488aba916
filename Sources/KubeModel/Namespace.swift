/// core/v1 Namespace.
public struct Namespace: KubeObject, FieldCodable {
    public static let resource = Resources.namespace
    /// The label the control plane puts on every namespace, holding its name.
    public static let nameLabel = "kubernetes.io/metadata.name"

    public var apiVersion = Namespace.resource.apiVersion
    public var kind = Namespace.resource.kind
    public var metadata = ObjectMeta()
    public var spec: NamespaceSpec?
    public var status: NamespaceStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: NamespaceSpec? = nil, status: NamespaceStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec), .optional("status", \.status),
    ]
}

/// core/v1 NamespaceSpec.
public struct NamespaceSpec: FieldCodable {
    public var finalizers: [String]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [.optional("finalizers", \.finalizers)]
}

/// core/v1 NamespaceStatus.
public struct NamespaceStatus: FieldCodable {
    /// `Active` or `Terminating`.
    public var phase: String?
    public var conditions: [Condition]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("phase", \.phase), .optional("conditions", \.conditions),
    ]
}
