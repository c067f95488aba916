import WeftNet

/// gateway.networking.k8s.io/v1 Gateway: listeners (port, protocol, hostname, TLS) that routes attach to.
public struct Gateway: KubeObject, FieldCodable {
    public static let resource = Resources.gateway
    public var apiVersion = Gateway.resource.apiVersion
    public var kind = Gateway.resource.kind
    public var metadata = ObjectMeta()
    public var spec: GatewaySpec = GatewaySpec()
    public var status: GatewayStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: GatewaySpec, status: GatewayStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .value("spec", \.spec), .optional("status", \.status),
    ]
}

/// gateway.networking.k8s.io/v1 GatewaySpec.
public struct GatewaySpec: FieldCodable {
    public var gatewayClassName: String = ""
    public var listeners: [Listener] = []
    public var addresses: [GatewayAddress]?
    /// GatewayInfrastructure (labels, annotations, parametersRef).
    public var infrastructure: JSONValue?
    public var unknown = UnknownFields()

    public init() {}

    public init(gatewayClassName: String, listeners: [Listener], addresses: [GatewayAddress]? = nil) {
        self.gatewayClassName = gatewayClassName
        self.listeners = listeners
        self.addresses = addresses
    }

    public static let fields: [CodingField<Self>] = [
        .value("gatewayClassName", \.gatewayClassName), .value("listeners", \.listeners),
        .optional("addresses", \.addresses), .optional("infrastructure", \.infrastructure),
    ]
}

/// One listener: name, port, protocol (`HTTP`, `HTTPS`, `TLS`, `TCP`, `UDP`), optional hostname and TLS.
public struct Listener: FieldCodable {
    public var name: String = ""
    public var hostname: String?
    public var port: Int = 0
    public var `protocol`: String = ""
    public var tls: GatewayTLSConfig?
    public var allowedRoutes: AllowedRoutes?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        name: String, hostname: String? = nil, port: Int, protocol: String, tls: GatewayTLSConfig? = nil,
        allowedRoutes: AllowedRoutes? = nil
    ) {
        self.name = name
        self.hostname = hostname
        self.port = port
        self.protocol = `protocol`
        self.tls = tls
        self.allowedRoutes = allowedRoutes
    }

    public static let fields: [CodingField<Self>] = [
        .value("name", \.name), .optional("hostname", \.hostname), .value("port", \.port),
        .value("protocol", \.protocol), .optional("tls", \.tls), .optional("allowedRoutes", \.allowedRoutes),
    ]
}

/// A listener's TLS: `Terminate` (with certificates) or `Passthrough`.
public struct GatewayTLSConfig: FieldCodable {
    /// `Terminate` (default) or `Passthrough`.
    public var mode: String?
    public var certificateRefs: [SecretObjectReference]?
    public var options: [String: String]?
    public var unknown = UnknownFields()

    public init() {}

    public init(mode: String? = nil, certificateRefs: [SecretObjectReference]? = nil) {
        self.mode = mode
        self.certificateRefs = certificateRefs
    }

    public static let fields: [CodingField<Self>] = [
        .optional("mode", \.mode), .optional("certificateRefs", \.certificateRefs), .optional("options", \.options),
    ]
}

/// A reference to a Secret (or another kind holding a certificate).
public struct SecretObjectReference: FieldCodable {
    /// `""` (core) when absent.
    public var group: String?
    /// `Secret` when absent.
    public var kind: String?
    public var name: String = ""
    /// The Gateway's namespace when absent.
    public var namespace: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }

    public static let fields: [CodingField<Self>] = [
        .optional("group", \.group), .optional("kind", \.kind), .value("name", \.name),
        .optional("namespace", \.namespace),
    ]
}

/// Which routes may attach to a listener: from which namespaces, of which kinds.
public struct AllowedRoutes: FieldCodable {
    public var namespaces: RouteNamespaces?
    public var kinds: [RouteGroupKind]?
    public var unknown = UnknownFields()

    public init() {}

    public init(namespaces: RouteNamespaces? = nil, kinds: [RouteGroupKind]? = nil) {
        self.namespaces = namespaces
        self.kinds = kinds
    }

    public static let fields: [CodingField<Self>] = [
        .optional("namespaces", \.namespaces), .optional("kinds", \.kinds),
    ]
}

/// `from`: `Same` (default), `All` or `Selector` (with `selector`).
public struct RouteNamespaces: FieldCodable {
    public var from: String?
    public var selector: LabelSelector?
    public var unknown = UnknownFields()

    public init() {}

    public init(from: String, selector: LabelSelector? = nil) {
        self.from = from
        self.selector = selector
    }

    public static let fields: [CodingField<Self>] = [.optional("from", \.from), .optional("selector", \.selector)]
}

/// A route kind (`{group: gateway.networking.k8s.io, kind: HTTPRoute}`).
public struct RouteGroupKind: FieldCodable {
    public var group: String?
    public var kind: String = ""
    public var unknown = UnknownFields()

    public init() {}

    public init(group: String? = nil, kind: String) {
        self.group = group
        self.kind = kind
    }

    public static let fields: [CodingField<Self>] = [.optional("group", \.group), .value("kind", \.kind)]
}

/// A requested or assigned Gateway address (`type`: `IPAddress` (default) or `Hostname`).
public struct GatewayAddress: FieldCodable {
    public var type: String?
    public var value: String = ""
    public var unknown = UnknownFields()

    public init() {}

    public init(type: String? = nil, value: String) {
        self.type = type
        self.value = value
    }

    public static let fields: [CodingField<Self>] = [.optional("type", \.type), .value("value", \.value)]
}

/// gateway.networking.k8s.io/v1 GatewayStatus.
public struct GatewayStatus: FieldCodable {
    public var addresses: [GatewayAddress]?
    public var conditions: [Condition]?
    public var listeners: [ListenerStatus]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("addresses", \.addresses), .optional("conditions", \.conditions),
        .optional("listeners", \.listeners),
    ]
}

/// The status of one listener.
public struct ListenerStatus: FieldCodable {
    public var name: String = ""
    public var supportedKinds: [RouteGroupKind] = []
    public var attachedRoutes: Int = 0
    public var conditions: [Condition] = []
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String, supportedKinds: [RouteGroupKind], attachedRoutes: Int, conditions: [Condition]) {
        self.name = name
        self.supportedKinds = supportedKinds
        self.attachedRoutes = attachedRoutes
        self.conditions = conditions
    }

    public static let fields: [CodingField<Self>] = [
        .value("name", \.name), .value("supportedKinds", \.supportedKinds),
        .value("attachedRoutes", \.attachedRoutes), .value("conditions", \.conditions),
    ]
}
