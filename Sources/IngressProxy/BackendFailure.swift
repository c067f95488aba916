/// Why a backend cannot take requests: the HTTP status the proxy answers with, and the words it says.
public struct BackendFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The Service (or its port) does not exist.
        case notFound
        /// Not a Service, or a kind of Service or port the proxy cannot send HTTP to.
        case unsupported
        /// In another namespace with nothing granting the reference (Gateway API).
        case notPermitted
        /// Resolved, but no endpoint is ready.
        case noReadyEndpoints
    }

    public var kind: Kind
    public var message: String
    /// 503 for no ready endpoints and for Ingress backends; 500 for an invalid Gateway API backendRef
    /// (HTTPRouteRule.backendRefs: "When a HTTPBackendRef is invalid, 500 status codes MUST be returned").
    public var status: Int

    public init(_ kind: Kind, _ message: String, status: Int = 503) {
        self.kind = kind
        self.message = message
        self.status = status
    }

    public var description: String { message }
}
