/// networking.k8s.io/v1 NetworkPolicy.
public struct NetworkPolicy: KubeObject, FieldCodable {
    public static let resource = Resources.networkPolicy
    public var apiVersion = NetworkPolicy.resource.apiVersion
    public var kind = NetworkPolicy.resource.kind
    public var metadata = ObjectMeta()
    public var spec: NetworkPolicySpec?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: NetworkPolicySpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec),
    ]
}

/// networking.k8s.io/v1 NetworkPolicySpec.
public struct NetworkPolicySpec: FieldCodable {
    /// The pods of the policy's namespace it selects; `{}` selects all of them.
    public var podSelector: LabelSelector?
    /// `Ingress`, `Egress`. When absent: `Ingress`, plus `Egress` if there are egress rules.
    public var policyTypes: [String]?
    public var ingress: [NetworkPolicyIngressRule]?
    public var egress: [NetworkPolicyEgressRule]?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        podSelector: LabelSelector, policyTypes: [String]? = nil, ingress: [NetworkPolicyIngressRule]? = nil,
        egress: [NetworkPolicyEgressRule]? = nil
    ) {
        self.podSelector = podSelector
        self.policyTypes = policyTypes
        self.ingress = ingress
        self.egress = egress
    }

    public static let fields: [CodingField<Self>] = [
        .optional("podSelector", \.podSelector), .optional("policyTypes", \.policyTypes),
        .optional("ingress", \.ingress), .optional("egress", \.egress),
    ]

    /// `policyTypes` with the API's defaulting applied.
    public var effectivePolicyTypes: [String] {
        if let policyTypes, !policyTypes.isEmpty { return policyTypes }
        return egress == nil ? ["Ingress"] : ["Ingress", "Egress"]
    }
}

/// One ingress rule: traffic from any of `from` (all sources when absent or empty) to any of `ports`.
public struct NetworkPolicyIngressRule: FieldCodable {
    public var from: [NetworkPolicyPeer]?
    public var ports: [NetworkPolicyPort]?
    public var unknown = UnknownFields()

    public init() {}

    public init(from: [NetworkPolicyPeer]? = nil, ports: [NetworkPolicyPort]? = nil) {
        self.from = from
        self.ports = ports
    }

    public static let fields: [CodingField<Self>] = [.optional("from", \.from), .optional("ports", \.ports)]
}

/// One egress rule: traffic to any of `to` (all destinations when absent or empty) on any of `ports`.
public struct NetworkPolicyEgressRule: FieldCodable {
    public var to: [NetworkPolicyPeer]?
    public var ports: [NetworkPolicyPort]?
    public var unknown = UnknownFields()

    public init() {}

    public init(to: [NetworkPolicyPeer]? = nil, ports: [NetworkPolicyPort]? = nil) {
        self.to = to
        self.ports = ports
    }

    public static let fields: [CodingField<Self>] = [.optional("to", \.to), .optional("ports", \.ports)]
}

/// A peer: pods (by pod and/or namespace selector) or an IP block.
public struct NetworkPolicyPeer: FieldCodable {
    public var podSelector: LabelSelector?
    public var namespaceSelector: LabelSelector?
    public var ipBlock: IPBlock?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        podSelector: LabelSelector? = nil, namespaceSelector: LabelSelector? = nil, ipBlock: IPBlock? = nil
    ) {
        self.podSelector = podSelector
        self.namespaceSelector = namespaceSelector
        self.ipBlock = ipBlock
    }

    public static let fields: [CodingField<Self>] = [
        .optional("podSelector", \.podSelector), .optional("namespaceSelector", \.namespaceSelector),
        .optional("ipBlock", \.ipBlock),
    ]
}

/// A CIDR with exceptions.
public struct IPBlock: FieldCodable {
    public var cidr: String = ""
    public var except: [String]?
    public var unknown = UnknownFields()

    public init() {}

    public init(cidr: String, except: [String]? = nil) {
        self.cidr = cidr
        self.except = except
    }

    public static let fields: [CodingField<Self>] = [.value("cidr", \.cidr), .optional("except", \.except)]
}

/// A port (number or named container port), or a range `port`…`endPort`.
public struct NetworkPolicyPort: FieldCodable {
    /// `TCP` when absent.
    public var `protocol`: PortProtocol?
    /// All ports when absent.
    public var port: IntOrString?
    public var endPort: Int?
    public var unknown = UnknownFields()

    public init() {}

    public init(protocol: PortProtocol? = nil, port: IntOrString? = nil, endPort: Int? = nil) {
        self.protocol = `protocol`
        self.port = port
        self.endPort = endPort
    }

    public static let fields: [CodingField<Self>] = [
        .optional("protocol", \.protocol), .optional("port", \.port), .optional("endPort", \.endPort),
    ]
}
