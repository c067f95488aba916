import FoundationEssentials
import WeftNet

/// A CNI ADD result in the 1.1.0 model (SPEC.md, "Section 5: Result Types"), convertible to every supported version.
public struct CNIResult: Sendable, Hashable {
    public struct Interface: Sendable, Hashable {
        public var name: String
        public var mac: String?
        public var mtu: Int?
        public var sandbox: String?
        public var socketPath: String?
        public var pciID: String?

        public init(name: String, mac: String? = nil, mtu: Int? = nil, sandbox: String? = nil) {
            self.name = name
            self.mac = mac
            self.mtu = mtu
            self.sandbox = sandbox
        }
    }

    public struct IPConfig: Sendable, Hashable {
        public var address: IPPrefix
        public var gateway: IPAddress?
        public var interface: Int?

        public init(address: IPPrefix, gateway: IPAddress? = nil, interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }
    }

    public struct Route: Sendable, Hashable {
        public var dst: IPPrefix
        public var gw: IPAddress?
        public var mtu: Int?
        public var advmss: Int?
        public var priority: Int?
        public var table: Int?
        public var scope: Int?

        public init(dst: IPPrefix, gw: IPAddress? = nil) {
            self.dst = dst
            self.gw = gw
        }
    }

    public var interfaces: [Interface] = []
    public var ips: [IPConfig] = []
    public var routes: [Route] = []
    public var dns: DNSConfig?

    public init(interfaces: [Interface] = [], ips: [IPConfig] = [], routes: [Route] = [], dns: DNSConfig? = nil) {
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    /// The result as JSON for `version`. 0.3.x and 0.4.0 carry `version` on each IP; 1.1.0 adds the route
    /// attributes and interface `mtu`/`socketPath`/`pciID`, which older versions omit.
    public func json(version: String) -> JSONValue {
        let legacy = !CNIVersion.atLeast(version, "1.0.0")
        let v11 = CNIVersion.atLeast(version, "1.1.0")
        var o: [String: JSONValue] = ["cniVersion": .string(version)]
        if !interfaces.isEmpty {
            o["interfaces"] = .array(
                interfaces.map { i in
                    var io: [String: JSONValue] = ["name": .string(i.name)]
                    if let m = i.mac { io["mac"] = .string(m) }
                    if let s = i.sandbox { io["sandbox"] = .string(s) }
                    if v11 {
                        if let m = i.mtu { io["mtu"] = .number(Double(m)) }
                        if let s = i.socketPath { io["socketPath"] = .string(s) }
                        if let p = i.pciID { io["pciID"] = .string(p) }
                    }
                    return .object(io)
                })
        }
        if !ips.isEmpty {
            o["ips"] = .array(
                ips.map { ip in
                    var io: [String: JSONValue] = ["address": .string(ip.address.description)]
                    if legacy { io["version"] = .string(ip.address.family.rawValue) }
                    if let g = ip.gateway { io["gateway"] = .string(g.description) }
                    if let i = ip.interface { io["interface"] = .number(Double(i)) }
                    return .object(io)
                })
        }
        if !routes.isEmpty {
            o["routes"] = .array(
                routes.map { r in
                    var ro: [String: JSONValue] = ["dst": .string(r.dst.description)]
                    if let g = r.gw { ro["gw"] = .string(g.description) }
                    if v11 {
                        for (k, v) in [
                            ("mtu", r.mtu), ("advmss", r.advmss), ("priority", r.priority), ("table", r.table),
                            ("scope", r.scope),
                        ] {
                            if let v { ro[k] = .number(Double(v)) }
                        }
                    }
                    return .object(ro)
                })
        }
        if let dns, let d = try? JSONValue.from(dns), d != .object([:]) { o["dns"] = d }
        return .object(o)
    }

    public func encoded(version: String) -> [UInt8] { JSONCoding.encode(json(version: version)) }

    /// Reads a result of any supported version (0.3.0 and later), e.g. a `prevResult` or a delegated IPAM result.
    public static func parse(_ json: JSONValue) throws -> CNIResult {
        guard case .object(let o) = json else { throw CNIError(.decodeFailure, "result is not a JSON object") }
        if let v = o["cniVersion"]?.stringValue, let p = CNIVersion.parse(v), p < (0, 3, 0) {
            throw CNIError(.incompatibleVersion, "result version \(v) is older than 0.3.0 and cannot be converted")
        }
        func int(_ v: JSONValue?) -> Int? {
            if case .number(let n)? = v { return Int(n) }
            return nil
        }
        var r = CNIResult()
        for i in o["interfaces"]?.arrayValue ?? [] {
            guard let name = i["name"]?.stringValue else {
                throw CNIError(.decodeFailure, "result interface has no name")
            }
            var iface = Interface(
                name: name, mac: i["mac"]?.stringValue, mtu: int(i["mtu"]), sandbox: i["sandbox"]?.stringValue)
            iface.socketPath = i["socketPath"]?.stringValue
            iface.pciID = i["pciID"]?.stringValue
            r.interfaces.append(iface)
        }
        for ip in o["ips"]?.arrayValue ?? [] {
            guard let a = ip["address"]?.stringValue, let addr = IPPrefix(a), a.contains("/") else {
                throw CNIError(.decodeFailure, "result ip address '\(ip["address"]?.stringValue ?? "")' is not CIDR")
            }
            let gw = ip["gateway"]?.stringValue.flatMap { IPAddress($0) }
            r.ips.append(IPConfig(address: addr, gateway: gw, interface: int(ip["interface"])))
        }
        for rt in o["routes"]?.arrayValue ?? [] {
            guard let d = rt["dst"]?.stringValue, let dst = IPPrefix(d) else {
                throw CNIError(.decodeFailure, "result route dst '\(rt["dst"]?.stringValue ?? "")' is not CIDR")
            }
            var route = Route(dst: dst, gw: rt["gw"]?.stringValue.flatMap { IPAddress($0) })
            route.mtu = int(rt["mtu"])
            route.advmss = int(rt["advmss"])
            route.priority = int(rt["priority"])
            route.table = int(rt["table"])
            route.scope = int(rt["scope"])
            r.routes.append(route)
        }
        if let d = o["dns"], d != .null { r.dns = try? d.decode(DNSConfig.self) }
        return r
    }

    /// Appends `other`'s interfaces, IPs (re-indexed) and routes after this result's (chaining).
    public mutating func append(_ other: CNIResult) {
        let offset = interfaces.count
        interfaces += other.interfaces
        ips += other.ips.map {
            var ip = $0; ip.interface = ip.interface.map { $0 + offset }; return ip
        }
        routes += other.routes
        if dns == nil { dns = other.dns }
    }
}
