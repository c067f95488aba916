import WeftNet

/// networking.k8s.io/v1 IngressClass.
public struct IngressClass: KubeObject, FieldCodable {
    public static let resource = Resources.ingressClass
    /// The annotation that makes a class the cluster's default.
    public static let defaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class"

    public var apiVersion = IngressClass.resource.apiVersion
    public var kind = IngressClass.resource.kind
    public var metadata = ObjectMeta()
    public var spec: IngressClassSpec?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: IngressClassSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec),
    ]

    /// Annotated as the default class.
    public var isDefault: Bool { metadata.annotations?[Self.defaultClassAnnotation] == "true" }
}

/// networking.k8s.io/v1 IngressClassSpec.
public struct IngressClassSpec: FieldCodable {
    /// The controller that implements the class, e.g. `weft.dev/ingress`.
    public var controller: String?
    /// IngressClassParametersReference (`apiGroup`, `kind`, `name`, `scope`, `namespace`).
    public var parameters: JSONValue?
    public var unknown = UnknownFields()

    public init() {}
    public init(controller: String) { self.controller = controller }

    public static let fields: [CodingField<Self>] = [
        .optional("controller", \.controller), .optional("parameters", \.parameters),
    ]
}
