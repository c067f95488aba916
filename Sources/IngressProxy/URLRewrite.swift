/// Gateway API's URLRewrite filter as a value: a new Host and/or path for the request sent upstream.
public struct URLRewrite: Sendable, Hashable {
    public var hostname: String?
    public var path: PathModifier?

    public init(hostname: String? = nil, path: PathModifier? = nil) {
        self.hostname = hostname
        self.path = path
    }

    /// Rewrites `request`'s host and path in place; the query is kept.
    public func apply(to request: inout UpstreamRequest, matchedPrefix: String?) {
        if let hostname { request.host = hostname }
        if let path { request.path = path.apply(to: request.path, matchedPrefix: matchedPrefix) }
    }
}
