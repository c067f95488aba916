import WeftNet

/// networking.k8s.io/v1 Ingress.
public struct Ingress: KubeObject, FieldCodable {
    public static let resource = Resources.ingress
    public var apiVersion = Ingress.resource.apiVersion
    public var kind = Ingress.resource.kind
    public var metadata = ObjectMeta()
    public var spec: IngressSpec?
    public var status: IngressStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: IngressSpec? = nil, status: IngressStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .optional("spec", \.spec), .optional("status", \.status),
    ]
}

/// networking.k8s.io/v1 IngressSpec.
public struct IngressSpec: FieldCodable {
    public var ingressClassName: String?
    public var defaultBackend: IngressBackend?
    public var tls: [IngressTLS]?
    public var rules: [IngressRule]?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        ingressClassName: String? = nil, defaultBackend: IngressBackend? = nil, tls: [IngressTLS]? = nil,
        rules: [IngressRule]? = nil
    ) {
        self.ingressClassName = ingressClassName
        self.defaultBackend = defaultBackend
        self.tls = tls
        self.rules = rules
    }

    public static let fields: [CodingField<Self>] = [
        .optional("ingressClassName", \.ingressClassName), .optional("defaultBackend", \.defaultBackend),
        .optional("tls", \.tls), .optional("rules", \.rules),
    ]
}

/// Where matching requests go: a Service port, or another resource (kept as JSON).
public struct IngressBackend: FieldCodable {
    public var service: IngressServiceBackend?
    /// A TypedLocalObjectReference (`apiGroup`, `kind`, `name`).
    public var resource: JSONValue?
    public var unknown = UnknownFields()

    public init() {}
    public init(service: IngressServiceBackend) { self.service = service }

    public static let fields: [CodingField<Self>] = [
        .optional("service", \.service), .optional("resource", \.resource),
    ]
}

/// A Service and one of its ports, by number or by name.
public struct IngressServiceBackend: FieldCodable {
    public var name: String = ""
    public var port: ServiceBackendPort?
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String, port: ServiceBackendPort) {
        self.name = name
        self.port = port
    }

    public static let fields: [CodingField<Self>] = [.value("name", \.name), .optional("port", \.port)]
}

/// A Service port: `number` or `name` (one of them).
public struct ServiceBackendPort: FieldCodable {
    public var name: String?
    public var number: Int?
    public var unknown = UnknownFields()

    public init() {}

    public init(number: Int) { self.number = number }
    public init(name: String) { self.name = name }

    public static let fields: [CodingField<Self>] = [.optional("name", \.name), .optional("number", \.number)]
}

/// Hosts served with the certificate of a Secret (`kubernetes.io/tls`).
public struct IngressTLS: FieldCodable {
    public var hosts: [String]?
    public var secretName: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(hosts: [String]? = nil, secretName: String? = nil) {
        self.hosts = hosts
        self.secretName = secretName
    }

    public static let fields: [CodingField<Self>] = [
        .optional("hosts", \.hosts), .optional("secretName", \.secretName),
    ]
}

/// A host (exact or `*.wildcard`; all hosts when absent) and its HTTP paths.
public struct IngressRule: FieldCodable {
    public var host: String?
    public var http: HTTPIngressRuleValue?
    public var unknown = UnknownFields()

    public init() {}

    public init(host: String? = nil, paths: [HTTPIngressPath]) {
        self.host = host
        self.http = HTTPIngressRuleValue(paths: paths)
    }

    public static let fields: [CodingField<Self>] = [.optional("host", \.host), .optional("http", \.http)]
}

/// `http.paths` of an Ingress rule.
public struct HTTPIngressRuleValue: FieldCodable {
    public var paths: [HTTPIngressPath] = []
    public var unknown = UnknownFields()

    public init() {}
    public init(paths: [HTTPIngressPath]) { self.paths = paths }

    public static let fields: [CodingField<Self>] = [.value("paths", \.paths)]
}

/// A path, how it matches (`Exact`, `Prefix`, `ImplementationSpecific`), and its backend.
public struct HTTPIngressPath: FieldCodable {
    public var path: String?
    /// `Exact`, `Prefix` or `ImplementationSpecific`; required by the API (validation reports it missing).
    public var pathType: String?
    public var backend: IngressBackend = IngressBackend()
    public var unknown = UnknownFields()

    public init() {}

    public init(path: String?, pathType: String?, backend: IngressBackend) {
        self.path = path
        self.pathType = pathType
        self.backend = backend
    }

    public static let fields: [CodingField<Self>] = [
        .optional("path", \.path), .optional("pathType", \.pathType), .value("backend", \.backend),
    ]
}

/// networking.k8s.io/v1 IngressStatus.
public struct IngressStatus: FieldCodable {
    public var loadBalancer: LoadBalancerStatus?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [.optional("loadBalancer", \.loadBalancer)]
}
