/// What the route table needs to know of a request: where it arrived (listener port and scheme) and its head.
public struct RoutingRequest: Sendable, Hashable {
    public enum Scheme: String, Sendable, Hashable {
        case http
        case https

        /// The port a URL of this scheme leaves out.
        public var wellKnownPort: Int { self == .http ? 80 : 443 }
    }

    /// The port the proxy accepted the connection on.
    public var port: Int
    public var scheme: Scheme
    /// The `Host` header (or HTTP/2 `:authority`) as sent, port and case included; `""` when absent.
    public var host: String
    /// The path part of the request target, without the query.
    public var path: String
    /// The query after `?`, `nil` when the target has no `?`.
    public var query: String?
    public var method: String
    public var headers: [HeaderField]

    public init(
        port: Int, scheme: Scheme, host: String, path: String, query: String? = nil, method: String = "GET",
        headers: [HeaderField] = []
    ) {
        self.port = port
        self.scheme = scheme
        self.host = host
        self.path = path
        self.query = query
        self.method = method
        self.headers = headers
    }

    /// A request whose origin-form target (`/a/b?x=1`) is split into path and query; a fragment is dropped.
    public init(
        port: Int, scheme: Scheme, host: String, target: String, method: String = "GET", headers: [HeaderField] = []
    ) {
        let withoutFragment = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = withoutFragment.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.init(
            port: port, scheme: scheme, host: host, path: String(parts[0]),
            query: parts.count > 1 ? String(parts[1]) : nil, method: method, headers: headers)
    }

    /// The host name to match routes against: lowercased, without port or trailing dot (Gateway API: "MUST ignore
    /// any port value specified in the HTTP Host header"). An IPv6 literal keeps its brackets.
    public var hostname: String {
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") {
            if let end = name.firstIndex(of: "]") { name = name[...end] }
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        return String(name)
    }

    /// The first value of each query parameter, by exact (undecoded) name. Gateway API leaves repeated
    /// parameters undefined and recommends the first value (HTTPQueryParamMatch.name).
    public var queryParameters: [String: String] {
        var parameters: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            if parameters[name] == nil { parameters[name] = parts.count > 1 ? String(parts[1]) : "" }
        }
        return parameters
    }
}
