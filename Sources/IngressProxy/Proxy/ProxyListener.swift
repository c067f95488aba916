/// An address the proxy accepts connections on, and the port the route table knows it by.
public struct ProxyListener: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    /// The port to bind (0: any free port, as tests do).
    public var port: Int
    public var scheme: RoutingRequest.Scheme
    /// The port requests are routed as (`RoutingRequest.port`, the TLS certificate's port): `port` unless set.
    public var routingPort: Int

    public init(host: String = "0.0.0.0", port: Int, scheme: RoutingRequest.Scheme, routingPort: Int? = nil) {
        self.host = host
        self.port = port
        self.scheme = scheme
        self.routingPort = routingPort ?? port
    }

    public var description: String { "\(scheme.rawValue)://\(host):\(port)" }
}
