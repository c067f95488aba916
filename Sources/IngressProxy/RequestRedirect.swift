import KubeModel

/// Gateway API's RequestRedirect filter as a value: the redirect's status and how its `Location` is built from
/// the request.
public struct RequestRedirect: Sendable, Hashable {
    public var scheme: RoutingRequest.Scheme?
    public var hostname: String?
    public var port: Int?
    public var path: PathModifier?
    /// 301, 302 (the default), 303, 307 or 308.
    public var statusCode: Int

    public init(
        scheme: RoutingRequest.Scheme? = nil, hostname: String? = nil, port: Int? = nil, path: PathModifier? = nil,
        statusCode: Int = 302
    ) {
        self.scheme = scheme
        self.hostname = hostname
        self.port = port
        self.path = path
        self.statusCode = statusCode
    }

    /// The `Location` for `request`, which matched `matchedPrefix` (for ReplacePrefixMatch).
    ///
    /// The port follows HTTPRequestRedirectFilter.port: the filter's, else the well-known port of the filter's
    /// scheme, else the listener's; it is left out when it is the scheme's well-known port. The query is kept.
    public func location(for request: RoutingRequest, matchedPrefix: String?) -> String {
        let scheme = self.scheme ?? request.scheme
        let host = hostname ?? request.hostname
        let port = self.port ?? self.scheme?.wellKnownPort ?? request.port
        let authority = port == scheme.wellKnownPort ? host : "\(host):\(port)"
        let newPath = path?.apply(to: request.path, matchedPrefix: matchedPrefix) ?? request.path
        let query = request.query.map { "?\($0)" } ?? ""
        return "\(scheme.rawValue)://\(authority)\(newPath)\(query)"
    }
}
