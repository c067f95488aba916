import CWeftLinux
import Glibc
import WeftNet

extension RouteSocket {
    private static func rta(_ type: rtattr_type_t) -> Int { Int(type.rawValue) }
    private static let flagOnlink: UInt32 = 0x4  // RTNH_F_ONLINK
    private static let flagCloned: UInt32 = 0x200  // RTM_F_CLONED

    /// The routes of `family` in `table` (254, `main`, by default). Cached clones are left out.
    public func routes(family: IPFamily, table: UInt32 = Route.mainTable) throws -> [Route] {
        var m = MessageBuilder(type: UInt16(RTM_GETROUTE), flags: 0)
        var header = rtmsg()
        header.rtm_family = Self.familyCode(family)
        m.append(raw: header)
        return try dump(m, { "RTM_GETROUTE dump ipv\(family.rawValue)" }).compactMap { message in
            guard let route = Self.parseRoute(message), route.family == family, route.table == table else { return nil }
            return route
        }
    }

    static func parseRoute(_ message: NetlinkMessage) -> Route? {
        guard Int(message.type) == Int(RTM_NEWROUTE), let h = loadStruct(message.payload, as: rtmsg.self),
            let family = ipFamily(h.rtm_family), h.rtm_flags & flagCloned == 0,
            Int(h.rtm_dst_len) <= family.bitWidth
        else { return nil }
        let a = Attributes(after: rtmsg.self, in: message.payload)
        func address(_ type: rtattr_type_t) -> IPAddress? {
            a[rta(type)].flatMap { IPAddress(bytes: $0) }.flatMap { $0.family == family ? $0 : nil }
        }
        let destinationAddress = address(RTA_DST) ?? IPAddress(family: family, numeric: 0)
        var route = Route(
            destination: IPPrefix(address: destinationAddress, length: Int(h.rtm_dst_len)),
            gateway: address(RTA_GATEWAY), outputIndex: a.i32(rta(RTA_OIF)), scope: RouteScope(rawValue: h.rtm_scope),
            table: a.u32(rta(RTA_TABLE)) ?? UInt32(h.rtm_table), metric: a.u32(rta(RTA_PRIORITY)),
            source: address(RTA_PREFSRC), protocolID: h.rtm_protocol, onlink: h.rtm_flags & flagOnlink != 0,
            type: h.rtm_type)
        if let metrics = a.nested(rta(RTA_METRICS)) { route.mtu = metrics.u32(Int(RTAX_MTU)) }
        if route.gateway == nil, route.outputIndex == nil, let multipath = a[rta(RTA_MULTIPATH)],
            let first = loadStruct(multipath, as: rtnexthop.self), Int(first.rtnh_len) <= multipath.count
        {
            // Multipath routes are reported by their first next hop.
            route.outputIndex = first.rtnh_ifindex
            route.onlink = route.onlink || UInt32(first.rtnh_flags) & flagOnlink != 0
            let nexthop = multipath.prefix(Int(first.rtnh_len))
            let attrs = Attributes(after: rtnexthop.self, in: nexthop)
            route.gateway = attrs[rta(RTA_GATEWAY)].flatMap { IPAddress(bytes: $0) }
        }
        return route
    }

    private static func routeMessage(_ type: Int, flags: Int32, _ route: Route, deleting: Bool) -> MessageBuilder {
        var m = MessageBuilder(type: UInt16(type), flags: UInt16(flags))
        var h = rtmsg()
        h.rtm_family = familyCode(route.family)
        h.rtm_dst_len = UInt8(route.destination.length)
        h.rtm_table = route.table < 256 ? UInt8(route.table) : 0  // RT_TABLE_UNSPEC: see RTA_TABLE
        h.rtm_protocol = deleting ? 0 : route.protocolID
        h.rtm_scope = deleting ? RouteScope.nowhere.rawValue : route.scope.rawValue
        h.rtm_type = route.type
        h.rtm_flags = route.onlink ? flagOnlink : 0
        m.append(raw: h)
        m.attribute(rta(RTA_TABLE), u32: route.table)
        if route.destination.length > 0 { m.attribute(rta(RTA_DST), bytes: route.destination.network.address.bytes) }
        if let gateway = route.gateway { m.attribute(rta(RTA_GATEWAY), bytes: gateway.bytes) }
        if let oif = route.outputIndex { m.attribute(rta(RTA_OIF), u32: UInt32(bitPattern: oif)) }
        if let metric = route.metric { m.attribute(rta(RTA_PRIORITY), u32: metric) }
        if let source = route.source { m.attribute(rta(RTA_PREFSRC), bytes: source.bytes) }
        if let mtu = route.mtu, !deleting {
            m.nested(rta(RTA_METRICS)) { $0.attribute(Int(RTAX_MTU), u32: mtu) }
        }
        return m
    }

    /// Adds a route; fails with `EEXIST` if an equal one exists.
    public func addRoute(_ route: Route) throws {
        let m = Self.routeMessage(Int(RTM_NEWROUTE), flags: NLM_F_CREATE | NLM_F_EXCL, route, deleting: false)
        try request(m, { "RTM_NEWROUTE \(route)" })
    }

    /// Adds a route or replaces the one with the same destination, table and metric (`ip route replace`).
    public func replaceRoute(_ route: Route) throws {
        let m = Self.routeMessage(Int(RTM_NEWROUTE), flags: NLM_F_CREATE | NLM_F_REPLACE, route, deleting: false)
        try request(m, { "RTM_NEWROUTE replace \(route)" })
    }

    /// Deletes the route matching destination, table, metric and the given gateway/interface (protocol and scope
    /// are not compared). Fails with `ESRCH` if there is none.
    public func deleteRoute(_ route: Route) throws {
        let m = Self.routeMessage(Int(RTM_DELROUTE), flags: 0, route, deleting: true)
        try request(m, { "RTM_DELROUTE \(route)" })
    }
}
