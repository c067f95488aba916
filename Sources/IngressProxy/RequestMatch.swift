/// The conditions one route match puts on a request, all of which must hold: path, and for Gateway API also the
/// method, exact header values (names case-insensitive) and exact query parameter values.
public struct RequestMatch: Sendable, Hashable {
    public var path: PathMatch
    public var method: String?
    /// Lowercased name → value.
    public var headers: [String: String]
    /// Name → value.
    public var queryParameters: [String: String]

    public init(
        path: PathMatch, method: String? = nil, headers: [String: String] = [:],
        queryParameters: [String: String] = [:]
    ) {
        self.path = path
        self.method = method
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        self.queryParameters = queryParameters
    }

    public func matches(_ request: RoutingRequest) -> Bool {
        guard path.matches(request.path) else { return false }
        if let method, method != request.method { return false }
        for (name, value) in headers where request.headers.combinedValue(of: name) != value { return false }
        if !queryParameters.isEmpty {
            let parameters = request.queryParameters
            for (name, value) in queryParameters where parameters[name] != value { return false }
        }
        return true
    }
}
