/// meta/v1 Condition: one aspect of an object's state (`Ready`, `Accepted`, `Programmed`, …), as Gateway API,
/// Service and most newer kinds report it. Older kinds' conditions (Deployment, DaemonSet) decode as this too; their
/// extra keys (`lastUpdateTime`) are kept.
public struct Condition: FieldCodable {
    /// `Ready`, `Accepted`, …
    public var type: String = ""
    /// `True`, `False` or `Unknown`.
    public var status: String = ""
    public var observedGeneration: Int64?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        type: String, status: String, reason: String? = nil, message: String? = nil,
        lastTransitionTime: String? = nil, observedGeneration: Int64? = nil
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
        self.observedGeneration = observedGeneration
    }

    /// `status == "True"`.
    public var isTrue: Bool { status == "True" }

    public static let fields: [CodingField<Self>] = [
        .value("type", \.type), .value("status", \.status), .optional("observedGeneration", \.observedGeneration),
        .optional("lastTransitionTime", \.lastTransitionTime), .optional("reason", \.reason),
        .optional("message", \.message),
    ]
}

/// core/v1 PodCondition (`PodScheduled`, `Initialized`, `ContainersReady`, `Ready`, …).
public typealias PodCondition = CoreCondition

/// core/v1 NodeCondition (`Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable`).
public typealias NodeCondition = CoreCondition

/// The conditions of the core/v1 kinds that predate meta/v1 Condition: pods and nodes. They differ in one
/// timestamp (a pod's `lastProbeTime`, a node's `lastHeartbeatTime`); one type with both keeps either on a round
/// trip.
public struct CoreCondition: FieldCodable {
    public var type: String = ""
    /// `True`, `False` or `Unknown`.
    public var status: String = ""
    /// Pods only.
    public var lastProbeTime: String?
    /// Nodes only.
    public var lastHeartbeatTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(type: String, status: String, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }

    /// `status == "True"`.
    public var isTrue: Bool { status == "True" }

    public static let fields: [CodingField<Self>] = [
        .value("type", \.type), .value("status", \.status), .optional("lastProbeTime", \.lastProbeTime),
        .optional("lastHeartbeatTime", \.lastHeartbeatTime), .optional("lastTransitionTime", \.lastTransitionTime),
        .optional("reason", \.reason), .optional("message", \.message),
    ]
}
