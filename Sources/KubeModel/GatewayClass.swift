import WeftNet

/// gateway.networking.k8s.io/v1 GatewayClass: a kind of Gateway, implemented by one controller.
public struct GatewayClass: KubeObject, FieldCodable {
    public static let resource = Resources.gatewayClass
    public var apiVersion = GatewayClass.resource.apiVersion
    public var kind = GatewayClass.resource.kind
    public var metadata = ObjectMeta()
    public var spec: GatewayClassSpec = GatewayClassSpec()
    public var status: GatewayClassStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, controllerName: String) {
        self.metadata = metadata
        self.spec = GatewayClassSpec(controllerName: controllerName)
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .value("spec", \.spec), .optional("status", \.status),
    ]
}

/// gateway.networking.k8s.io/v1 GatewayClassSpec.
public struct GatewayClassSpec: FieldCodable {
    /// e.g. `weft.dev/gateway-controller`.
    public var controllerName: String = ""
    /// ParametersReference (`group`, `kind`, `name`, `namespace`).
    public var parametersRef: JSONValue?
    public var description: String?
    public var unknown = UnknownFields()

    public init() {}
    public init(controllerName: String) { self.controllerName = controllerName }

    public static let fields: [CodingField<Self>] = [
        .value("controllerName", \.controllerName), .optional("parametersRef", \.parametersRef),
        .optional("description", \.description),
    ]
}

/// gateway.networking.k8s.io/v1 GatewayClassStatus.
public struct GatewayClassStatus: FieldCodable {
    public var conditions: [Condition]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [.optional("conditions", \.conditions)]
}
