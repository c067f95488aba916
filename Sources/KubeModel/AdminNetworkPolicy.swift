/// policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy: cluster-wide rules evaluated before NetworkPolicy, in
/// `priority` order (lower first); actions `Allow`, `Deny`, `Pass`.
public struct AdminNetworkPolicy: KubeObject, FieldCodable {
    public static let resource = Resources.adminNetworkPolicy
    public var apiVersion = AdminNetworkPolicy.resource.apiVersion
    public var kind = AdminNetworkPolicy.resource.kind
    public var metadata = ObjectMeta()
    public var spec: AdminNetworkPolicySpec = AdminNetworkPolicySpec()
    public var status: AdminNetworkPolicyStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: AdminNetworkPolicySpec) {
        self.metadata = metadata
        self.spec = spec
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .value("spec", \.spec), .optional("status", \.status),
    ]
}

/// policy.networking.k8s.io/v1alpha1 AdminNetworkPolicySpec.
public struct AdminNetworkPolicySpec: FieldCodable {
    /// 0…1000, lower is evaluated first.
    public var priority: Int = 0
    public var subject: AdminNetworkPolicySubject = AdminNetworkPolicySubject()
    public var ingress: [AdminNetworkPolicyRule]?
    public var egress: [AdminNetworkPolicyRule]?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        priority: Int, subject: AdminNetworkPolicySubject, ingress: [AdminNetworkPolicyRule]? = nil,
        egress: [AdminNetworkPolicyRule]? = nil
    ) {
        self.priority = priority
        self.subject = subject
        self.ingress = ingress
        self.egress = egress
    }

    public static let fields: [CodingField<Self>] = [
        .value("priority", \.priority), .value("subject", \.subject), .optional("ingress", \.ingress),
        .optional("egress", \.egress),
    ]
}

/// policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy: the cluster's default rules, evaluated after
/// NetworkPolicy; a singleton named `default`; actions `Allow`, `Deny`.
public struct BaselineAdminNetworkPolicy: KubeObject, FieldCodable {
    public static let resource = Resources.baselineAdminNetworkPolicy
    public var apiVersion = BaselineAdminNetworkPolicy.resource.apiVersion
    public var kind = BaselineAdminNetworkPolicy.resource.kind
    public var metadata = ObjectMeta()
    public var spec: BaselineAdminNetworkPolicySpec = BaselineAdminNetworkPolicySpec()
    public var status: AdminNetworkPolicyStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: BaselineAdminNetworkPolicySpec) {
        self.metadata = metadata
        self.spec = spec
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .value("spec", \.spec), .optional("status", \.status),
    ]
}

/// policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicySpec (as AdminNetworkPolicySpec, no priority).
public struct BaselineAdminNetworkPolicySpec: FieldCodable {
    public var subject: AdminNetworkPolicySubject = AdminNetworkPolicySubject()
    public var ingress: [AdminNetworkPolicyRule]?
    public var egress: [AdminNetworkPolicyRule]?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        subject: AdminNetworkPolicySubject, ingress: [AdminNetworkPolicyRule]? = nil,
        egress: [AdminNetworkPolicyRule]? = nil
    ) {
        self.subject = subject
        self.ingress = ingress
        self.egress = egress
    }

    public static let fields: [CodingField<Self>] = [
        .value("subject", \.subject), .optional("ingress", \.ingress), .optional("egress", \.egress),
    ]
}

/// The pods a policy applies to: every pod of the selected `namespaces`, or the selected `pods` (one of the two).
public struct AdminNetworkPolicySubject: FieldCodable {
    public var namespaces: LabelSelector?
    public var pods: NamespacedPodSelector?
    public var unknown = UnknownFields()

    public init() {}

    public init(namespaces: LabelSelector? = nil, pods: NamespacedPodSelector? = nil) {
        self.namespaces = namespaces
        self.pods = pods
    }

    public static let fields: [CodingField<Self>] = [.optional("namespaces", \.namespaces), .optional("pods", \.pods)]
}

/// Pods selected by `podSelector` within the namespaces selected by `namespaceSelector`.
public struct NamespacedPodSelector: FieldCodable {
    public var namespaceSelector: LabelSelector = LabelSelector()
    public var podSelector: LabelSelector = LabelSelector()
    public var unknown = UnknownFields()

    public init() {}

    public init(namespaceSelector: LabelSelector, podSelector: LabelSelector) {
        self.namespaceSelector = namespaceSelector
        self.podSelector = podSelector
    }

    public static let fields: [CodingField<Self>] = [
        .value("namespaceSelector", \.namespaceSelector), .value("podSelector", \.podSelector),
    ]
}

/// An ingress (`from`) or egress (`to`) rule of an AdminNetworkPolicy or BaselineAdminNetworkPolicy.
public struct AdminNetworkPolicyRule: FieldCodable {
    public var name: String?
    /// `Allow`, `Deny`, `Pass` (ANP only).
    public var action: String = ""
    /// Ingress peers.
    public var from: [AdminNetworkPolicyPeer]?
    /// Egress peers.
    public var to: [AdminNetworkPolicyPeer]?
    /// All ports when absent.
    public var ports: [AdminNetworkPolicyPort]?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        name: String? = nil, action: String, from: [AdminNetworkPolicyPeer]? = nil,
        to: [AdminNetworkPolicyPeer]? = nil, ports: [AdminNetworkPolicyPort]? = nil
    ) {
        self.name = name
        self.action = action
        self.from = from
        self.to = to
        self.ports = ports
    }

    public static let fields: [CodingField<Self>] = [
        .optional("name", \.name), .value("action", \.action), .optional("from", \.from), .optional("to", \.to),
        .optional("ports", \.ports),
    ]
}

/// A peer: namespaces, pods, nodes (egress), or CIDR networks (egress); exactly one is set.
public struct AdminNetworkPolicyPeer: FieldCodable {
    public var namespaces: LabelSelector?
    public var pods: NamespacedPodSelector?
    public var nodes: LabelSelector?
    public var networks: [String]?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        namespaces: LabelSelector? = nil, pods: NamespacedPodSelector? = nil, nodes: LabelSelector? = nil,
        networks: [String]? = nil
    ) {
        self.namespaces = namespaces
        self.pods = pods
        self.nodes = nodes
        self.networks = networks
    }

    public static let fields: [CodingField<Self>] = [
        .optional("namespaces", \.namespaces), .optional("pods", \.pods), .optional("nodes", \.nodes),
        .optional("networks", \.networks),
    ]
}

/// One of `portNumber`, `namedPort` or `portRange`.
public struct AdminNetworkPolicyPort: FieldCodable {
    public var portNumber: PortNumber?
    public var namedPort: String?
    public var portRange: PortRange?
    public var unknown = UnknownFields()

    public init() {}

    public init(portNumber: PortNumber? = nil, namedPort: String? = nil, portRange: PortRange? = nil) {
        self.portNumber = portNumber
        self.namedPort = namedPort
        self.portRange = portRange
    }

    public static let fields: [CodingField<Self>] = [
        .optional("portNumber", \.portNumber), .optional("namedPort", \.namedPort),
        .optional("portRange", \.portRange),
    ]

    /// A protocol and port.
    public struct PortNumber: FieldCodable {
        public var `protocol`: PortProtocol?
        public var port: Int = 0
        public var unknown = UnknownFields()

        public init() {}

        public init(protocol: PortProtocol? = nil, port: Int) {
            self.protocol = `protocol`
            self.port = port
        }

        public static let fields: [CodingField<Self>] = [.optional("protocol", \.protocol), .value("port", \.port)]
    }

    /// A protocol and inclusive port range.
    public struct PortRange: FieldCodable {
        public var `protocol`: PortProtocol?
        public var start: Int = 0
        public var end: Int = 0
        public var unknown = UnknownFields()

        public init() {}

        public init(protocol: PortProtocol? = nil, start: Int, end: Int) {
            self.protocol = `protocol`
            self.start = start
            self.end = end
        }

        public static let fields: [CodingField<Self>] = [
            .optional("protocol", \.protocol), .value("start", \.start), .value("end", \.end),
        ]
    }
}

/// policy.networking.k8s.io/v1alpha1 AdminNetworkPolicyStatus.
public struct AdminNetworkPolicyStatus: FieldCodable {
    public var conditions: [Condition]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [.optional("conditions", \.conditions)]
}
