/// No route matches a request: answered with 404.
public struct RouteNotFound: Error, Sendable, Hashable, CustomStringConvertible {
    public var request: RoutingRequest

    public var description: String {
        "no route for \(request.scheme.rawValue)://\(request.hostname):\(request.port)\(request.path)"
    }
}
