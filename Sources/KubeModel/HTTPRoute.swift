import WeftNet

/// gateway.networking.k8s.io/v1 HTTPRoute.
public struct HTTPRoute: KubeObject, FieldCodable {
    public static let resource = Resources.httpRoute
    public var apiVersion = HTTPRoute.resource.apiVersion
    public var kind = HTTPRoute.resource.kind
    public var metadata = ObjectMeta()
    public var spec: HTTPRouteSpec = HTTPRouteSpec()
    public var status: HTTPRouteStatus?
    public var unknown = UnknownFields()

    public init() {}

    public init(metadata: ObjectMeta, spec: HTTPRouteSpec, status: HTTPRouteStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public static let fields: [CodingField<Self>] = [
        .value("apiVersion", \.apiVersion), .value("kind", \.kind), .value("metadata", \.metadata),
        .value("spec", \.spec), .optional("status", \.status),
    ]
}

/// gateway.networking.k8s.io/v1 HTTPRouteSpec.
public struct HTTPRouteSpec: FieldCodable {
    public var parentRefs: [ParentReference]?
    public var hostnames: [String]?
    public var rules: [HTTPRouteRule]?
    public var unknown = UnknownFields()

    public init() {}

    public init(parentRefs: [ParentReference]? = nil, hostnames: [String]? = nil, rules: [HTTPRouteRule]? = nil) {
        self.parentRefs = parentRefs
        self.hostnames = hostnames
        self.rules = rules
    }

    public static let fields: [CodingField<Self>] = [
        .optional("parentRefs", \.parentRefs), .optional("hostnames", \.hostnames), .optional("rules", \.rules),
    ]
}

/// The Gateway (or listener of it, by `sectionName` or `port`) a route attaches to.
public struct ParentReference: FieldCodable {
    /// `gateway.networking.k8s.io` when absent.
    public var group: String?
    /// `Gateway` when absent.
    public var kind: String?
    /// The route's namespace when absent.
    public var namespace: String?
    public var name: String = ""
    public var sectionName: String?
    public var port: Int?
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String, namespace: String? = nil, sectionName: String? = nil, port: Int? = nil) {
        self.name = name
        self.namespace = namespace
        self.sectionName = sectionName
        self.port = port
    }

    public static let fields: [CodingField<Self>] = [
        .optional("group", \.group), .optional("kind", \.kind), .optional("namespace", \.namespace),
        .value("name", \.name), .optional("sectionName", \.sectionName), .optional("port", \.port),
    ]
}

/// One rule: requests matching any of `matches` (all requests when absent) go through `filters` to `backendRefs`.
public struct HTTPRouteRule: FieldCodable {
    public var name: String?
    public var matches: [HTTPRouteMatch]?
    public var filters: [HTTPRouteFilter]?
    public var backendRefs: [HTTPBackendRef]?
    /// HTTPRouteTimeouts (`request`, `backendRequest`).
    public var timeouts: JSONValue?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        name: String? = nil, matches: [HTTPRouteMatch]? = nil, filters: [HTTPRouteFilter]? = nil,
        backendRefs: [HTTPBackendRef]? = nil
    ) {
        self.name = name
        self.matches = matches
        self.filters = filters
        self.backendRefs = backendRefs
    }

    public static let fields: [CodingField<Self>] = [
        .optional("name", \.name), .optional("matches", \.matches), .optional("filters", \.filters),
        .optional("backendRefs", \.backendRefs), .optional("timeouts", \.timeouts),
    ]
}

/// A request match: path, headers, query parameters and method, ANDed.
public struct HTTPRouteMatch: FieldCodable {
    public var path: HTTPPathMatch?
    public var headers: [HTTPValueMatch]?
    public var queryParams: [HTTPValueMatch]?
    public var method: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(
        path: HTTPPathMatch? = nil, headers: [HTTPValueMatch]? = nil, queryParams: [HTTPValueMatch]? = nil,
        method: String? = nil
    ) {
        self.path = path
        self.headers = headers
        self.queryParams = queryParams
        self.method = method
    }

    public static let fields: [CodingField<Self>] = [
        .optional("path", \.path), .optional("headers", \.headers), .optional("queryParams", \.queryParams),
        .optional("method", \.method),
    ]
}

/// `type`: `Exact`, `PathPrefix` (default) or `RegularExpression`; `value` defaults to `/`.
public struct HTTPPathMatch: FieldCodable {
    public var type: String?
    public var value: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(type: String? = nil, value: String? = nil) {
        self.type = type
        self.value = value
    }

    public static let fields: [CodingField<Self>] = [.optional("type", \.type), .optional("value", \.value)]
}

/// A header or query parameter match: `type` `Exact` (default) or `RegularExpression`, `name`, `value`.
public struct HTTPValueMatch: FieldCodable {
    public var type: String?
    public var name: String = ""
    public var value: String = ""
    public var unknown = UnknownFields()

    public init() {}

    public init(type: String? = nil, name: String, value: String) {
        self.type = type
        self.name = name
        self.value = value
    }

    public static let fields: [CodingField<Self>] = [
        .optional("type", \.type), .value("name", \.name), .value("value", \.value),
    ]
}

/// A filter; `type` says which of the other fields is set.
public struct HTTPRouteFilter: FieldCodable {
    /// `RequestHeaderModifier`, `ResponseHeaderModifier`, `RequestRedirect`, `URLRewrite`, `RequestMirror`,
    /// `ExtensionRef`.
    public var type: String = ""
    public var requestHeaderModifier: HTTPHeaderFilter?
    public var responseHeaderModifier: HTTPHeaderFilter?
    public var requestRedirect: HTTPRequestRedirectFilter?
    public var urlRewrite: HTTPURLRewriteFilter?
    public var requestMirror: JSONValue?
    public var extensionRef: JSONValue?
    public var unknown = UnknownFields()

    public init() {}
    public init(type: String) { self.type = type }

    public static let fields: [CodingField<Self>] = [
        .value("type", \.type), .optional("requestHeaderModifier", \.requestHeaderModifier),
        .optional("responseHeaderModifier", \.responseHeaderModifier),
        .optional("requestRedirect", \.requestRedirect), .optional("urlRewrite", \.urlRewrite),
        .optional("requestMirror", \.requestMirror), .optional("extensionRef", \.extensionRef),
    ]
}

/// Headers to set (replace), add (append) and remove.
public struct HTTPHeaderFilter: FieldCodable {
    public var set: [HTTPHeader]?
    public var add: [HTTPHeader]?
    public var remove: [String]?
    public var unknown = UnknownFields()

    public init() {}

    public init(set: [HTTPHeader]? = nil, add: [HTTPHeader]? = nil, remove: [String]? = nil) {
        self.set = set
        self.add = add
        self.remove = remove
    }

    public static let fields: [CodingField<Self>] = [
        .optional("set", \.set), .optional("add", \.add), .optional("remove", \.remove),
    ]
}

/// A header name and value.
public struct HTTPHeader: FieldCodable {
    public var name: String = ""
    public var value: String = ""
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static let fields: [CodingField<Self>] = [.value("name", \.name), .value("value", \.value)]
}

/// A redirect response: any of scheme, hostname, path, port; `statusCode` 301 or 302 (default).
public struct HTTPRequestRedirectFilter: FieldCodable {
    public var scheme: String?
    public var hostname: String?
    public var path: HTTPPathModifier?
    public var port: Int?
    public var statusCode: Int?
    public var unknown = UnknownFields()

    public init() {}

    public static let fields: [CodingField<Self>] = [
        .optional("scheme", \.scheme), .optional("hostname", \.hostname), .optional("path", \.path),
        .optional("port", \.port), .optional("statusCode", \.statusCode),
    ]
}

/// A rewrite of the request's host and/or path before it goes to the backend.
public struct HTTPURLRewriteFilter: FieldCodable {
    public var hostname: String?
    public var path: HTTPPathModifier?
    public var unknown = UnknownFields()

    public init() {}

    public init(hostname: String? = nil, path: HTTPPathModifier? = nil) {
        self.hostname = hostname
        self.path = path
    }

    public static let fields: [CodingField<Self>] = [.optional("hostname", \.hostname), .optional("path", \.path)]
}

/// `type` `ReplaceFullPath` (with `replaceFullPath`) or `ReplacePrefixMatch` (with `replacePrefixMatch`).
public struct HTTPPathModifier: FieldCodable {
    public var type: String = ""
    public var replaceFullPath: String?
    public var replacePrefixMatch: String?
    public var unknown = UnknownFields()

    public init() {}

    public init(type: String, replaceFullPath: String? = nil, replacePrefixMatch: String? = nil) {
        self.type = type
        self.replaceFullPath = replaceFullPath
        self.replacePrefixMatch = replacePrefixMatch
    }

    public static let fields: [CodingField<Self>] = [
        .value("type", \.type), .optional("replaceFullPath", \.replaceFullPath),
        .optional("replacePrefixMatch", \.replacePrefixMatch),
    ]
}

/// A backend (a Service by default) with a port and a weight (default 1).
public struct HTTPBackendRef: FieldCodable {
    /// `""` (core) when absent.
    public var group: String?
    /// `Service` when absent.
    public var kind: String?
    public var name: String = ""
    public var namespace: String?
    public var port: Int?
    public var weight: Int?
    public var filters: [HTTPRouteFilter]?
    public var unknown = UnknownFields()

    public init() {}

    public init(name: String, namespace: String? = nil, port: Int? = nil, weight: Int? = nil) {
        self.name = name
        self.namespace = namespace
        self.port = port
        self.weight = weight
    }

    public static let fields: [CodingField<Self>] = [
        .optional("group", \.group), .optional("kind", \.kind), .value("name", \.name),
        .optional("namespace", \.namespace), .optional("port", \.port), .optional("weight", \.weight),
        .optional("filters", \.filters),
    ]
}

/// gateway.networking.k8s.io/v1 HTTPRouteStatus: one entry per parent a controller considered.
public struct HTTPRouteStatus: FieldCodable {
    public var parents: [RouteParentStatus] = []
    public var unknown = UnknownFields()

    public init() {}
    public init(parents: [RouteParentStatus]) { self.parents = parents }

    public static let fields: [CodingField<Self>] = [.value("parents", \.parents)]
}

/// A route's status with respect to one parent.
public struct RouteParentStatus: FieldCodable {
    public var parentRef: ParentReference = ParentReference()
    public var controllerName: String = ""
    public var conditions: [Condition]?
    public var unknown = UnknownFields()

    public init() {}

    public init(parentRef: ParentReference, controllerName: String, conditions: [Condition]? = nil) {
        self.parentRef = parentRef
        self.controllerName = controllerName
        self.conditions = conditions
    }

    public static let fields: [CodingField<Self>] = [
        .value("parentRef", \.parentRef), .value("controllerName", \.controllerName),
        .optional("conditions", \.conditions),
    ]
}
