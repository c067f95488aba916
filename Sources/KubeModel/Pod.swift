import WeftNet

/// core/v1 Pod.
public struct Pod: KubeObject, FieldCodable {
    public static let resource = Resources.pod
    public var apiVersion = Pod.resource.apiVersion
    public var kind = Pod.resource.kind
    public var metadata = ObjectMeta()
    public var spec: PodSpec?
    public var status: PodStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: PodSpec? = nil, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec), .optional("status", \.status),
    ]

    /// Ready condition is `True`.
    public var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.isTrue } ?? false }
}

/// core/v1 PodSpec: what Weft's networking reads. Volumes, affinity, security context, … are kept unmodelled.
public struct PodSpec: FieldCodable {
    public var containers: [Container] = []
    public var initContainers: [Container]?
    public var nodeName: String?
    public var nodeSelector: [String: String]?
    public var hostNetwork: Bool?
    public var hostname: String?
    public var subdomain: String?
    public var restartPolicy: String?
    public var schedulerName: String?
    public var serviceAccountName: String?
    public var dnsPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var tolerations: [JSONValue]?
    public var unknown = UnknownFields()

    public init() {}

    public init(containers: [Container], nodeName: String? = nil, hostNetwork: Bool? = nil) {
        self.containers = containers
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
    }

    public static let fields: [CodingField<Self>] = [
        .value("containers", \.containers), .optional("initContainers", \.initContainers),
        .optional("nodeName", \.nodeName), .optional("nodeSelector", \.nodeSelector),
        .optional("hostNetwork", \.hostNetwork), .optional("hostname", \.hostname),
        .optional("subdomain", \.subdomain), .optional("restartPolicy", \.restartPolicy),
        .optional("schedulerName", \.schedulerName), .optional("serviceAccountName", \.serviceAccountName),
        .optional("dnsPolicy", \.dnsPolicy),
        .optional("terminationGracePeriodSeconds", \.terminationGracePeriodSeconds),
        .optional("tolerations", \.tolerations),
    ]
}

/// core/v1 Container: name, image, command, environment, ports and the readiness probe (kept as JSON).
public struct Container: FieldCodable {
    public var name: String = ""
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var env: [EnvVar]?
    public var ports: [ContainerPort]?
    public var readinessProbe: JSONValue?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        name: String, image: String? = nil, command: [String]? = nil, args: [String]? = nil,
        ports: [ContainerPort]? = nil
    ) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.ports = ports
    }

    public static let fields: [CodingField<Self>] = [
        .value("name", \.name), .optional("image", \.image), .optional("command", \.command),
        .optional("args", \.args), .optional("workingDir", \.workingDir), .optional("env", \.env),
        .optional("ports", \.ports), .optional("readinessProbe", \.readinessProbe),
    ]
}

/// core/v1 EnvVar: a literal `value`, or `valueFrom` (kept as JSON: fieldRef, configMapKeyRef, …).
public struct EnvVar: FieldCodable {
    public var name: String = ""
    public var value: String?
    public var valueFrom: JSONValue?
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String, value: String? = nil, valueFrom: JSONValue? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }

    public static let fields: [CodingField<Self>] = [
        .value("name", \.name), .optional("value", \.value), .optional("valueFrom", \.valueFrom),
    ]
}

/// core/v1 ContainerPort. `name` is what a Service's string `targetPort` refers to.
public struct ContainerPort: FieldCodable {
    public var name: String?
    public var containerPort: Int = 0
    /// `TCP` when absent.
    public var `protocol`: PortProtocol?
    public var hostPort: Int?
    public var hostIP: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String? = nil, containerPort: Int, protocol: PortProtocol? = nil, hostPort: Int? = nil) {
        self.name = name
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.hostPort = hostPort
    }

    public static let fields: [CodingField<Self>] = [
        .optional("name", \.name), .value("containerPort", \.containerPort), .optional("protocol", \.protocol),
        .optional("hostPort", \.hostPort), .optional("hostIP", \.hostIP),
    ]
}

/// core/v1 PodStatus.
public struct PodStatus: FieldCodable {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    public var phase: String?
    public var conditions: [PodCondition]?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var hostIP: String?
    public var hostIPs: [HostIP]?
    public var startTime: String?
    public var reason: String?
    public var message: String?
    public var containerStatuses: [JSONValue]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("phase", \.phase), .optional("conditions", \.conditions), .optional("podIP", \.podIP),
        .optional("podIPs", \.podIPs), .optional("hostIP", \.hostIP), .optional("hostIPs", \.hostIPs),
        .optional("startTime", \.startTime), .optional("reason", \.reason), .optional("message", \.message),
        .optional("containerStatuses", \.containerStatuses),
    ]
}

/// One of a pod's addresses (`status.podIPs[]`).
public struct PodIP: FieldCodable {
    public var ip: String = ""
    public var unknown = UnknownFields()

    public init() {}
    public init(ip: String) { self.ip = ip }

    public static let fields: [CodingField<Self>] = [.value("ip", \.ip)]
}

/// One of the node's addresses as a pod sees it (`status.hostIPs[]`).
public struct HostIP: FieldCodable {
    public var ip: String = ""
    public var unknown = UnknownFields()

    public init() {}
    public init(ip: String) { self.ip = ip }

    public static let fields: [CodingField<Self>] = [.value("ip", \.ip)]
}

/// core/v1 PodTemplateSpec: the pod a Deployment or DaemonSet makes.
public struct PodTemplateSpec: FieldCodable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }

    public static let fields: [CodingField<Self>] = [.optional("metadata", \.metadata), .optional("spec", \.spec)]
}
