import WeftNet

/// apps/v1 Deployment.
public struct Deployment: KubeObject, FieldCodable {
    public static let resource = Resources.deployment
    public var apiVersion = Deployment.resource.apiVersion
    public var kind = Deployment.resource.kind
    public var metadata = ObjectMeta()
    public var spec: DeploymentSpec?
    public var status: DeploymentStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: DeploymentSpec? = nil, status: DeploymentStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec), .optional("status", \.status),
    ]
}

/// apps/v1 DeploymentSpec.
public struct DeploymentSpec: FieldCodable {
    /// 1 when absent.
    public var replicas: Int?
    public var selector: LabelSelector?
    public var template: PodTemplateSpec = PodTemplateSpec()
    public var strategy: JSONValue?
    public var minReadySeconds: Int?
    public var revisionHistoryLimit: Int?
    public var paused: Bool?
    public var progressDeadlineSeconds: Int?
    public var unknown = UnknownFields()

    public init() {}

    public init(replicas: Int? = nil, selector: LabelSelector?, template: PodTemplateSpec) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }

    public static let fields: [CodingField<Self>] = [
        .optional("replicas", \.replicas), .optional("selector", \.selector), .value("template", \.template),
        .optional("strategy", \.strategy), .optional("minReadySeconds", \.minReadySeconds),
        .optional("revisionHistoryLimit", \.revisionHistoryLimit), .optional("paused", \.paused),
        .optional("progressDeadlineSeconds", \.progressDeadlineSeconds),
    ]
}

/// apps/v1 DeploymentStatus.
public struct DeploymentStatus: FieldCodable {
    public var observedGeneration: Int64?
    public var replicas: Int?
    public var updatedReplicas: Int?
    public var readyReplicas: Int?
    public var availableReplicas: Int?
    public var unavailableReplicas: Int?
    public var collisionCount: Int?
    /// Deployment conditions (`Available`, `Progressing`); their `lastUpdateTime` is kept unmodelled.
    public var conditions: [Condition]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("observedGeneration", \.observedGeneration), .optional("replicas", \.replicas),
        .optional("updatedReplicas", \.updatedReplicas), .optional("readyReplicas", \.readyReplicas),
        .optional("availableReplicas", \.availableReplicas), .optional("unavailableReplicas", \.unavailableReplicas),
        .optional("collisionCount", \.collisionCount), .optional("conditions", \.conditions),
    ]
}
