/// core/v1 Node.
public struct Node: KubeObject, FieldCodable {
    public static let resource = Resources.node
    public var apiVersion = Node.resource.apiVersion
    public var kind = Node.resource.kind
    public var metadata = ObjectMeta()
    public var spec: NodeSpec?
    public var status: NodeStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: NodeSpec? = nil, status: NodeStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec), .optional("status", \.status),
    ]

    /// The Ready condition is `True`.
    public var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.isTrue } ?? false }
}

/// core/v1 NodeSpec.
public struct NodeSpec: FieldCodable {
    public var podCIDR: String?
    public var podCIDRs: [String]?
    public var providerID: String?
    public var unschedulable: Bool?
    public var taints: [Taint]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("podCIDR", \.podCIDR), .optional("podCIDRs", \.podCIDRs), .optional("providerID", \.providerID),
        .optional("unschedulable", \.unschedulable), .optional("taints", \.taints),
    ]
}

/// A node taint (`key=value:effect`).
public struct Taint: FieldCodable {
    public var key: String = ""
    public var value: String?
    /// `NoSchedule`, `PreferNoSchedule`, `NoExecute`.
    public var effect: String = ""
    public var timeAdded: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(key: String, value: String? = nil, effect: String) {
        self.key = key
        self.value = value
        self.effect = effect
    }

    public static let fields: [CodingField<Self>] = [
        .value("key", \.key), .optional("value", \.value), .value("effect", \.effect),
        .optional("timeAdded", \.timeAdded),
    ]
}

/// core/v1 NodeStatus: addresses and conditions (capacity, nodeInfo, images, … are kept unmodelled).
public struct NodeStatus: FieldCodable {
    public var addresses: [NodeAddress]?
    public var conditions: [NodeCondition]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("addresses", \.addresses), .optional("conditions", \.conditions),
    ]
}

/// One node address: `InternalIP`, `ExternalIP`, `Hostname`, ….
public struct NodeAddress: FieldCodable {
    public var type: String = ""
    public var address: String = ""
    public var unknown = UnknownFields()

    public init() {}

    public init(type: String, address: String) {
        self.type = type
        self.address = address
    }

    public static let fields: [CodingField<Self>] = [.value("type", \.type), .value("address", \.address)]
}
