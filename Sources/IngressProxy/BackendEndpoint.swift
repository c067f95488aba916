import WeftNet

/// A pod address and port a request can be sent to.
public struct BackendEndpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: Int

    public init(address: IPAddress, port: Int) {
        self.address = address
        self.port = port
    }

    public static func < (l: Self, r: Self) -> Bool { (l.address, l.port) < (r.address, r.port) }

    public var description: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }
}
