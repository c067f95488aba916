import KubeModel

/// A non-2xx answer of the API server: the HTTP code, the request, and the server's `Status`
/// (synthesised from the HTTP code and body when the server sent none).
public struct KubeAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status code of the response.
    public var httpStatus: Int
    /// The decoded `Status` body.
    public var status: Status
    /// `GET`, `POST`, …
    public var method: String
    /// Path and query of the request.
    public var path: String

    public init(httpStatus: Int, status: Status, method: String, path: String) {
        self.httpStatus = httpStatus
        self.status = status
        self.method = method
        self.path = path
    }

    /// `NotFound`, `AlreadyExists`, `Conflict`, `Gone`, …
    public var reason: String? { status.reason }
    public var isNotFound: Bool { httpStatus == 404 }
    public var isConflict: Bool { httpStatus == 409 }
    public var isGone: Bool { httpStatus == 410 }

    public var description: String {
        "\(method) \(path): HTTP \(httpStatus) \(status.reason ?? ""): \(status.message ?? "")"
    }
}

/// A failure of the client itself rather than an answer of the server.
public enum KubeClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request did not complete within the configured timeout.
    case timeout(method: String, path: String, after: Duration)
    /// The server's answer could not be decoded as the expected type.
    case undecodableResponse(method: String, path: String, reason: String)
    /// The TLS material of the configuration could not be used.
    case invalidTLSMaterial(field: String, reason: String)
    /// The server URL of the configuration is not usable.
    case invalidServer(String)
    /// A token file could not be read when a request needed it.
    case unreadableTokenFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .timeout(let method, let path, let after): "\(method) \(path): no complete response within \(after)"
        case .undecodableResponse(let method, let path, let reason):
            "\(method) \(path): undecodable response: \(reason)"
        case .invalidTLSMaterial(let field, let reason): "\(field): \(reason)"
        case .invalidServer(let server): "server URL '\(server)' is not an http(s) URL with a host"
        case .unreadableTokenFile(let path, let reason): "cannot read token file \(path): \(reason)"
        }
    }
}

/// Why a watch stream ended with an error.
public enum WatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 410 Gone: the requested resourceVersion is older than the server's history. List again, then watch from the
    /// list's resourceVersion.
    case expired(Status)
    /// An `ERROR` event with another status.
    case failed(Status)
    /// The stream carried something that is not a watch event, or ended inside one.
    case malformedEvent(String)

    public var description: String {
        switch self {
        case .expired(let s): "watch expired (410 Gone): \(s.message ?? "")"
        case .failed(let s): "watch failed: \(s.code.map(String.init) ?? "?") \(s.reason ?? ""): \(s.message ?? "")"
        case .malformedEvent(let why): "malformed watch event: \(why)"
        }
    }
}
