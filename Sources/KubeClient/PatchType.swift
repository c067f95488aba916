/// The kinds of PATCH the API server accepts, by content type.
public enum PatchType: Sendable, Hashable {
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    case merge
    /// RFC 6902 JSON patch, an array of operations (`application/json-patch+json`).
    case json
    /// Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), built-in kinds only.
    case strategic

    public var contentType: String {
        switch self {
        case .merge: "application/merge-patch+json"
        case .json: "application/json-patch+json"
        case .strategic: "application/strategic-merge-patch+json"
        }
    }
}
