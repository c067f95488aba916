import WeftNet

/// apps/v1 DaemonSet.
public struct DaemonSet: KubeObject, FieldCodable {
    public static let resource = Resources.daemonSet
    public var apiVersion = DaemonSet.resource.apiVersion
    public var kind = DaemonSet.resource.kind
    public var metadata = ObjectMeta()
    public var spec: DaemonSetSpec?
    public var status: DaemonSetStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: DaemonSetSpec? = nil, status: DaemonSetStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec), .optional("status", \.status),
    ]
}

/// apps/v1 DaemonSetSpec.
public struct DaemonSetSpec: FieldCodable {
    public var selector: LabelSelector?
    public var template: PodTemplateSpec = PodTemplateSpec()
    public var updateStrategy: JSONValue?
    public var minReadySeconds: Int?
    public var revisionHistoryLimit: Int?
    public var unknown = UnknownFields()

    public init() {}

    public init(selector: LabelSelector?, template: PodTemplateSpec) {
        self.selector = selector
        self.template = template
    }

    public static let fields: [CodingField<Self>] = [
        .optional("selector", \.selector), .value("template", \.template),
        .optional("updateStrategy", \.updateStrategy), .optional("minReadySeconds", \.minReadySeconds),
        .optional("revisionHistoryLimit", \.revisionHistoryLimit),
    ]
}

/// apps/v1 DaemonSetStatus.
public struct DaemonSetStatus: FieldCodable {
    public var currentNumberScheduled: Int?
    public var numberMisscheduled: Int?
    public var desiredNumberScheduled: Int?
    public var numberReady: Int?
    public var observedGeneration: Int64?
    public var updatedNumberScheduled: Int?
    public var numberAvailable: Int?
    public var numberUnavailable: Int?
    public var collisionCount: Int?
    public var conditions: [Condition]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("currentNumberScheduled", \.currentNumberScheduled),
        .optional("numberMisscheduled", \.numberMisscheduled),
        .optional("desiredNumberScheduled", \.desiredNumberScheduled), .optional("numberReady", \.numberReady),
        .optional("observedGeneration", \.observedGeneration),
        .optional("updatedNumberScheduled", \.updatedNumberScheduled),
        .optional("numberAvailable", \.numberAvailable), .optional("numberUnavailable", \.numberUnavailable),
        .optional("collisionCount", \.collisionCount), .optional("conditions", \.conditions),
    ]
}
