/// A request the proxy forwards: to which backend's endpoints, as what request, and which response header
/// changes to make on the way back.
public struct Forward: Sendable, Hashable {
    public var source: MatchedRoute.Source
    /// `namespace/service:port`.
    public var backend: String
    /// Ready endpoints, sorted; the proxy balances over them.
    public var endpoints: [BackendEndpoint]
    public var request: UpstreamRequest
    /// Applied in order to the response's headers.
    public var responseHeaders: [HeaderModifier]

    public init(
        source: MatchedRoute.Source, backend: String, endpoints: [BackendEndpoint], request: UpstreamRequest,
        responseHeaders: [HeaderModifier]
    ) {
        self.source = source
        self.backend = backend
        self.endpoints = endpoints
        self.request = request
        self.responseHeaders = responseHeaders
    }
}
