/// The head of the request as the backend receives it, after URLRewrite and RequestHeaderModifier filters.
public struct UpstreamRequest: Sendable, Hashable {
    /// The `Host` header to send (the client's unless a URLRewrite replaced it).
    public var host: String
    public var path: String
    public var query: String?
    public var headers: [HeaderField]

    public init(host: String, path: String, query: String?, headers: [HeaderField]) {
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// The path and query as the request target.
    public var target: String { query.map { "\(path)?\($0)" } ?? path }
}
