import NIOCore

extension SocketAddress {
    /// The address as a client sees it in agnhost's `/clientip`: `ip:port`, `[ip]:port` for IPv6, and an IPv4 client
    /// of a dual-stack socket (`::ffff:a.b.c.d`) as the IPv4 address it really is.
    var clientText: String {
        guard let ip = ipAddress, let port else { return description }
        switch self {
        case .v6 where ip.lowercased().hasPrefix("::ffff:") && ip.contains("."):
            return "\(ip.dropFirst(7)):\(port)"
        case .v6:
            return "[\(ip)]:\(port)"
        default:
            return "\(ip):\(port)"
        }
    }
}
