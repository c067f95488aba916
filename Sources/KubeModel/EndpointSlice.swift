/// discovery.k8s.io/v1 EndpointSlice: a Service's backends (labelled `kubernetes.io/service-name`).
public struct EndpointSlice: KubeObject, FieldCodable {
    public static let resource = Resources.endpointSlice
    /// The label that names the slice's Service.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    public var apiVersion = EndpointSlice.resource.apiVersion
    public var kind = EndpointSlice.resource.kind
    public var metadata = ObjectMeta()
    /// `IPv4`, `IPv6` or `FQDN`.
    public var addressType: String = "IPv4"
    public var endpoints: [Endpoint] = []
    public var ports: [EndpointPort]?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, addressType: String, endpoints: [Endpoint], ports: [EndpointPort]? = nil) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .value("addressType", \.addressType), .value("endpoints", \.endpoints), .optional("ports", \.ports),
    ]

    /// The Service this slice belongs to (its `kubernetes.io/service-name` label).
    public var serviceName: String? { metadata.labels?[Self.serviceNameLabel] }
}

/// One backend of an EndpointSlice.
public struct Endpoint: FieldCodable {
    public var addresses: [String] = []
    public var conditions: EndpointConditions?
    public var hostname: String?
    public var targetRef: ObjectReference?
    public var nodeName: String?
    public var zone: String?
    public var hints: EndpointHints?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        addresses: [String], conditions: EndpointConditions? = nil, hostname: String? = nil,
        targetRef: ObjectReference? = nil, nodeName: String? = nil, zone: String? = nil
    ) {
        self.addresses = addresses
        self.conditions = conditions
        self.hostname = hostname
        self.targetRef = targetRef
        self.nodeName = nodeName
        self.zone = zone
    }

    public static let fields: [CodingField<Self>] = [
        .value("addresses", \.addresses), .optional("conditions", \.conditions), .optional("hostname", \.hostname),
        .optional("targetRef", \.targetRef), .optional("nodeName", \.nodeName), .optional("zone", \.zone),
        .optional("hints", \.hints),
    ]
}

/// An endpoint's `ready`, `serving` and `terminating`. Absent `ready` means ready (API semantics).
public struct EndpointConditions: FieldCodable {
    public var ready: Bool?
    public var serving: Bool?
    public var terminating: Bool?
    public var unknown = UnknownFields()

    public init() {}

    public init(ready: Bool?, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }

    public static let fields: [CodingField<Self>] = [
        .optional("ready", \.ready), .optional("serving", \.serving), .optional("terminating", \.terminating),
    ]
}

/// Topology hints: the zones (and nodes) that should use an endpoint.
public struct EndpointHints: FieldCodable {
    public var forZones: [EndpointHintTarget]?
    public var forNodes: [EndpointHintTarget]?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("forZones", \.forZones), .optional("forNodes", \.forNodes),
    ]
}

/// A zone or node named by a hint (`{name: zone-a}`).
public struct EndpointHintTarget: FieldCodable {
    public var name: String = ""
    public var unknown = UnknownFields()

    public init() {}
    public init(name: String) { self.name = name }

    public static let fields: [CodingField<Self>] = [.value("name", \.name)]
}

/// A port of an EndpointSlice; `name` matches the Service port's name.
public struct EndpointPort: FieldCodable {
    public var name: String?
    public var `protocol`: PortProtocol?
    public var port: Int?
    public var appProtocol: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String? = nil, protocol: PortProtocol? = nil, port: Int? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
    }

    public static let fields: [CodingField<Self>] = [
        .optional("name", \.name), .optional("protocol", \.protocol), .optional("port", \.port),
        .optional("appProtocol", \.appProtocol),
    ]
}

/// core/v1 ObjectReference (an endpoint's `targetRef`).
public struct ObjectReference: FieldCodable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?
    public var fieldPath: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(kind: String, namespace: String? = nil, name: String, uid: String? = nil) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }

    public static let fields: [CodingField<Self>] = [
        .optional("apiVersion", \.apiVersion), .optional("kind", \.kind), .optional("namespace", \.namespace),
        .optional("name", \.name), .optional("uid", \.uid), .optional("resourceVersion", \.resourceVersion),
        .optional("fieldPath", \.fieldPath),
    ]
}
