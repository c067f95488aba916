import WeftNet

/// One allocatable range, with host-local's defaults filled in (plugins/ipam/host-local, `Range.Canonicalize`).
public struct IPRange: Sendable, Hashable {
    public var subnet: IPPrefix
    public var rangeStart: IPAddress
    public var rangeEnd: IPAddress
    public var gateway: IPAddress?

    public var family: IPFamily { subnet.family }

    public func contains(_ ip: IPAddress) -> Bool {
        ip.family == family && ip >= rangeStart && ip <= rangeEnd
    }

    /// Number of addresses between start and end, inclusive (saturating).
    public var count: UInt128 { rangeEnd.numeric - rangeStart.numeric &+ 1 }

    /// Validates and fills defaults: the subnet must be a network address of at least 4 addresses; start and end
    /// default to the first and last usable address (IPv4 skips the broadcast address); the gateway defaults to
    /// the first address.
    public init(subnet text: String, rangeStart: String?, rangeEnd: String?, gateway: String?) throws {
        guard let subnet = IPPrefix(text), text.contains("/") else {
            throw CNIError(.invalidConfig, "ipam: subnet '\(text)' is not a CIDR prefix")
        }
        guard subnet.isNetworkAddress else {
            throw CNIError(
                .invalidConfig,
                "ipam: subnet '\(text)' is not a network address (has host bits set); did you mean \(subnet.network)?")
        }
        guard subnet.length <= subnet.family.bitWidth - 2 else {
            throw CNIError(.invalidConfig, "ipam: subnet '\(text)' is too small to allocate from")
        }
        self.subnet = subnet
        func parse(_ s: String?, _ what: String) throws -> IPAddress? {
            guard let s, !s.isEmpty else { return nil }
            guard let ip = IPAddress(s) else {
                throw CNIError(.invalidConfig, "ipam: \(what) '\(s)' is not an IP address")
            }
            guard subnet.contains(ip) else {
                throw CNIError(.invalidConfig, "ipam: \(what) \(s) is outside subnet \(subnet)")
            }
            return ip
        }
        self.gateway = try parse(gateway, "gateway") ?? subnet.address.advanced(by: 1)
        let first = subnet.address.advanced(by: 1)
        let last = subnet.family == .v4 ? subnet.lastAddress.advanced(by: -1) : subnet.lastAddress
        self.rangeStart = try parse(rangeStart, "rangeStart") ?? first
        self.rangeEnd = try parse(rangeEnd, "rangeEnd") ?? last
        guard self.rangeStart <= self.rangeEnd else {
            throw CNIError(.invalidConfig, "ipam: rangeStart \(self.rangeStart) is after rangeEnd \(self.rangeEnd)")
        }
    }

    public func overlaps(_ other: IPRange) -> Bool {
        family == other.family && rangeStart <= other.rangeEnd && other.rangeStart <= rangeEnd
    }
}

/// A route from the IPAM configuration.
public struct IPAMRoute: Sendable, Hashable {
    public var dst: IPPrefix
    public var gw: IPAddress?
}

/// The `ipam` section. For `weft-ipam` (or its alias `host-local` semantics) the ranges are validated here; other
/// types are delegated to the plugin of that name and only `type` is read.
public struct IPAMConfig: Sendable {
    public var type: String
    /// Range sets: one address is allocated from each set, so dual-stack is two sets.
    public var rangeSets: [[IPRange]] = []
    public var routes: [IPAMRoute] = []
    public var dataDir: String = "/var/lib/cni/networks"

    public static let builtinType = "weft-ipam"

    public var isBuiltin: Bool { type == Self.builtinType }

    /// The configured subnet containing `ip`, for rules that exempt the pod's own network.
    public func subnet(containing ip: IPAddress) -> IPPrefix? {
        for set in rangeSets {
            if let r = set.first(where: { $0.subnet.contains(ip) }) { return r.subnet }
        }
        return nil
    }

    public static func parse(_ json: JSONValue) throws -> IPAMConfig {
        guard case .object(let o) = json else { throw CNIError(.invalidConfig, "'ipam' must be an object") }
        guard let type = o["type"]?.stringValue, !type.isEmpty else {
            throw CNIError(.invalidConfig, "ipam has no 'type'")
        }
        var c = IPAMConfig(type: type)
        guard c.isBuiltin else { return c }
        if let d = o["dataDir"]?.stringValue, !d.isEmpty { c.dataDir = d }
        func str(_ v: JSONValue?, _ what: String) throws -> String? {
            guard let v, v != .null else { return nil }
            guard let s = v.stringValue else { throw CNIError(.invalidConfig, "ipam: \(what) must be a string") }
            return s
        }
        func range(_ r: JSONValue) throws -> IPRange {
            guard case .object(let ro) = r, let subnet = try str(ro["subnet"], "subnet") else {
                throw CNIError(.invalidConfig, "ipam: every range needs a 'subnet'")
            }
            return try IPRange(
                subnet: subnet, rangeStart: try str(ro["rangeStart"], "rangeStart"),
                rangeEnd: try str(ro["rangeEnd"], "rangeEnd"), gateway: try str(ro["gateway"], "gateway"))
        }
        if let sets = o["ranges"], sets != .null {
            guard let arr = sets.arrayValue else {
                throw CNIError(.invalidConfig, "ipam: 'ranges' must be a list of lists")
            }
            for set in arr {
                guard let rs = set.arrayValue, !rs.isEmpty else {
                    throw CNIError(.invalidConfig, "ipam: each entry of 'ranges' must be a non-empty list of ranges")
                }
                c.rangeSets.append(try rs.map(range))
            }
        }
        if o["subnet"] != nil {  // the single-range form
            c.rangeSets.insert([try range(json)], at: 0)
        }
        guard !c.rangeSets.isEmpty else { throw CNIError(.invalidConfig, "ipam: no 'ranges' and no 'subnet'") }
        // host-local's rules: a set holds one family and no overlaps; no two sets overlap.
        let all = c.rangeSets.flatMap { $0 }
        for (i, set) in c.rangeSets.enumerated() {
            guard Set(set.map(\.family)).count == 1 else {
                throw CNIError(.invalidConfig, "ipam: range set \(i) mixes IPv4 and IPv6")
            }
        }
        for i in all.indices {
            for j in all.indices where j > i && all[i].overlaps(all[j]) {
                throw CNIError(.invalidConfig, "ipam: ranges \(all[i].subnet) and \(all[j].subnet) overlap")
            }
        }
        if let routes = o["routes"]?.arrayValue {
            for r in routes {
                guard let d = r["dst"]?.stringValue, let dst = IPPrefix(d), d.contains("/") else {
                    throw CNIError(
                        .invalidConfig, "ipam: route dst '\(r["dst"]?.stringValue ?? "")' is not a CIDR prefix")
                }
                var gw: IPAddress?
                if let g = r["gw"]?.stringValue, !g.isEmpty {
                    guard let ip = IPAddress(g), ip.family == dst.family else {
                        throw CNIError(.invalidConfig, "ipam: route gw '\(g)' is not an address of the route's family")
                    }
                    gw = ip
                }
                c.routes.append(IPAMRoute(dst: dst.network, gw: gw))
            }
        }
        return c
    }
}
