import WeftNet

/// core/v1 Service.
public struct Service: KubeObject, FieldCodable {
    public static let resource = Resources.service
    public var apiVersion = Service.resource.apiVersion
    public var kind = Service.resource.kind
    public var metadata = ObjectMeta()
    public var spec: ServiceSpec?
    public var status: ServiceStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: ServiceSpec? = nil, status: ServiceStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec), .optional("status", \.status),
    ]
}

/// core/v1 ServiceSpec.
public struct ServiceSpec: FieldCodable {
    /// `ClusterIP` (default), `NodePort`, `LoadBalancer`, `ExternalName`.
    public var type: String?
    public var clusterIP: String?
    public var clusterIPs: [String]?
    /// `IPv4`, `IPv6`.
    public var ipFamilies: [String]?
    /// `SingleStack`, `PreferDualStack`, `RequireDualStack`.
    public var ipFamilyPolicy: String?
    public var ports: [ServicePort]?
    public var selector: [String: String]?
    /// `None` or `ClientIP`.
    public var sessionAffinity: String?
    /// `{clientIP: {timeoutSeconds}}`.
    public var sessionAffinityConfig: JSONValue?
    /// `Cluster` or `Local`.
    public var externalTrafficPolicy: String?
    /// `Cluster` or `Local`.
    public var internalTrafficPolicy: String?
    public var healthCheckNodePort: Int?
    public var loadBalancerIP: String?
    public var loadBalancerSourceRanges: [String]?
    public var loadBalancerClass: String?
    public var allocateLoadBalancerNodePorts: Bool?
    public var externalIPs: [String]?
    public var externalName: String?
    public var publishNotReadyAddresses: Bool?
    /// `PreferClose` (and, newer, `PreferSameZone`, `PreferSameNode`).
    public var trafficDistribution: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        type: String? = nil, ports: [ServicePort]? = nil, selector: [String: String]? = nil, clusterIP: String? = nil
    ) {
        self.type = type
        self.ports = ports
        self.selector = selector
        self.clusterIP = clusterIP
    }

    public static let fields: [CodingField<Self>] = [
        .optional("type", \.type), .optional("clusterIP", \.clusterIP), .optional("clusterIPs", \.clusterIPs),
        .optional("ipFamilies", \.ipFamilies), .optional("ipFamilyPolicy", \.ipFamilyPolicy),
        .optional("ports", \.ports), .optional("selector", \.selector),
        .optional("sessionAffinity", \.sessionAffinity), .optional("sessionAffinityConfig", \.sessionAffinityConfig),
        .optional("externalTrafficPolicy", \.externalTrafficPolicy),
        .optional("internalTrafficPolicy", \.internalTrafficPolicy),
        .optional("healthCheckNodePort", \.healthCheckNodePort), .optional("loadBalancerIP", \.loadBalancerIP),
        .optional("loadBalancerSourceRanges", \.loadBalancerSourceRanges),
        .optional("loadBalancerClass", \.loadBalancerClass),
        .optional("allocateLoadBalancerNodePorts", \.allocateLoadBalancerNodePorts),
        .optional("externalIPs", \.externalIPs), .optional("externalName", \.externalName),
        .optional("publishNotReadyAddresses", \.publishNotReadyAddresses),
        .optional("trafficDistribution", \.trafficDistribution),
    ]

    /// Headless: `clusterIP: None`.
    public var isHeadless: Bool { clusterIP == "None" }
}

/// core/v1 ServicePort.
public struct ServicePort: FieldCodable {
    public var name: String?
    /// `TCP` when absent.
    public var `protocol`: PortProtocol?
    public var appProtocol: String?
    public var port: Int = 0
    /// A number, or the name of a container port; `port` when absent.
    public var targetPort: IntOrString?
    public var nodePort: Int?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        name: String? = nil, protocol: PortProtocol? = nil, port: Int, targetPort: IntOrString? = nil,
        nodePort: Int? = nil
    ) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }

    public static let fields: [CodingField<Self>] = [
        .optional("name", \.name), .optional("protocol", \.protocol), .optional("appProtocol", \.appProtocol),
        .value("port", \.port), .optional("targetPort", \.targetPort), .optional("nodePort", \.nodePort),
    ]
}

/// core/v1 ServiceStatus.
public struct ServiceStatus: FieldCodable {
    public var loadBalancer: LoadBalancerStatus?
    public var conditions: [Condition]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("loadBalancer", \.loadBalancer), .optional("conditions", \.conditions),
    ]
}

/// A Service's or an Ingress's `status.loadBalancer`.
public struct LoadBalancerStatus: FieldCodable {
    public var ingress: [LoadBalancerIngress]?
    public var unknown = UnknownFields()

    public init() {}
    public init(ingress: [LoadBalancerIngress]) { self.ingress = ingress }

    public static let fields: [CodingField<Self>] = [.optional("ingress", \.ingress)]
}

/// One load-balancer address: `ip` or `hostname`.
public struct LoadBalancerIngress: FieldCodable {
    public var ip: String?
    public var hostname: String?
    /// `VIP` or `Proxy` (Services only).
    public var ipMode: String?
    public var ports: [JSONValue]?
    public var unknown = UnknownFields()

    public init() {}

    public init(ip: String? = nil, hostname: String? = nil) {
        self.ip = ip
        self.hostname = hostname
    }

    public static let fields: [CodingField<Self>] = [
        .optional("ip", \.ip), .optional("hostname", \.hostname), .optional("ipMode", \.ipMode),
        .optional("ports", \.ports),
    ]
}
