import WeftNet

/// A route's scope (`rtm_scope`): how far away the destination is.
public struct RouteScope: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Through a gateway (`RT_SCOPE_UNIVERSE`).
    public static let universe = RouteScope(rawValue: 0)
    /// `RT_SCOPE_SITE`.
    public static let site = RouteScope(rawValue: 200)
    /// Directly attached (`RT_SCOPE_LINK`), as `ip route` picks for a device route without a gateway.
    public static let link = RouteScope(rawValue: 253)
    /// On this host (`RT_SCOPE_HOST`).
    public static let host = RouteScope(rawValue: 254)
    /// `RT_SCOPE_NOWHERE`.
    public static let nowhere = RouteScope(rawValue: 255)

    public var description: String {
        switch self {
        case .universe: "universe"
        case .site: "site"
        case .link: "link"
        case .host: "host"
        case .nowhere: "nowhere"
        default: "\(rawValue)"
        }
    }
}

/// A unicast route (`RTM_NEWROUTE`).
///
/// The values are sent as given: a device route without a gateway should say `scope: .link`, as `ip route`
/// would choose. IPv6 ignores the scope; the kernel reports IPv6 routes with a metric (1024 by default).
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// Destination; `0.0.0.0/0` or `::/0` is the default route. Host bits are cleared when sent.
    public var destination: IPPrefix
    /// Next hop (`RTA_GATEWAY`).
    public var gateway: IPAddress?
    /// Output interface (`RTA_OIF`).
    public var outputIndex: Int32?
    public var scope: RouteScope
    /// Routing table (`RTA_TABLE`), 254 is `main`.
    public var table: UInt32
    /// Priority (`RTA_PRIORITY`), shown as `metric` by `ip route`.
    public var metric: UInt32?
    /// Preferred source address (`RTA_PREFSRC`, `src` in `ip route`).
    public var source: IPAddress?
    /// Who installed the route (`rtm_protocol`); `RTPROT_BOOT` (3) by default, as with `ip route add`.
    public var protocolID: UInt8
    /// Path MTU (`RTAX_MTU` in `RTA_METRICS`).
    public var mtu: UInt32?
    /// Gateway is on-link even without a matching connected route (`RTNH_F_ONLINK`).
    public var onlink: Bool
    /// Route type (`rtm_type`): 1 `RTN_UNICAST`; dumps of the local table also show 2 local, 3 broadcast, …
    public var type: UInt8

    /// `RT_TABLE_MAIN`.
    public static let mainTable: UInt32 = 254
    /// `RT_TABLE_LOCAL`.
    public static let localTable: UInt32 = 255
    /// `RTPROT_BOOT`.
    public static let protocolBoot: UInt8 = 3
    /// `RTPROT_KERNEL`: routes the kernel adds for connected networks.
    public static let protocolKernel: UInt8 = 2
    /// `RTPROT_STATIC`.
    public static let protocolStatic: UInt8 = 4

    public init(
        destination: IPPrefix, gateway: IPAddress? = nil, outputIndex: Int32? = nil, scope: RouteScope = .universe,
        table: UInt32 = 254, metric: UInt32? = nil, source: IPAddress? = nil, protocolID: UInt8 = 3,
        mtu: UInt32? = nil, onlink: Bool = false, type: UInt8 = 1
    ) {
        self.destination = destination
        self.gateway = gateway
        self.outputIndex = outputIndex
        self.scope = scope
        self.table = table
        self.metric = metric
        self.source = source
        self.protocolID = protocolID
        self.mtu = mtu
        self.onlink = onlink
        self.type = type
    }

    /// The default route of `family` (`0.0.0.0/0` or `::/0`).
    public static func defaultDestination(_ family: IPFamily) -> IPPrefix {
        IPPrefix(address: IPAddress(family: family, numeric: 0), length: 0)
    }

    /// Whether the destination is the default route.
    public var isDefault: Bool { destination.length == 0 }

    public var family: IPFamily { destination.family }

    public var description: String {
        var text = isDefault ? "default" : "\(destination.network)"
        if let gateway { text += " via \(gateway)" }
        if let outputIndex { text += " dev \(outputIndex)" }
        if table != Self.mainTable { text += " table \(table)" }
        text += " proto \(protocolID)"
        if scope != .universe { text += " scope \(scope)" }
        if let source { text += " src \(source)" }
        if let metric { text += " metric \(metric)" }
        if let mtu { text += " mtu \(mtu)" }
        if onlink { text += " onlink" }
        return text
    }
}
