import FoundationEssentials
import WeftNet

/// How the plugin wires a pod to its node.
public enum NetworkMode: String, Sendable, Codable {
    /// A veth pair whose host end joins a Linux bridge (the reference `bridge` plugin's model).
    case bridge
    /// A routed veth pair with no bridge (the reference `ptp` plugin's model).
    case ptp
}

/// A hostPort mapping from `runtimeConfig.portMappings` (capability `portMappings`).
public struct PortMapping: Sendable, Hashable, Codable {
    public var hostPort: Int
    public var containerPort: Int
    public var `protocol`: String
    public var hostIP: String?

    public init(hostPort: Int, containerPort: Int, protocol: String = "tcp", hostIP: String? = nil) {
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.hostIP = hostIP
    }

    enum CodingKeys: String, CodingKey { case hostPort, containerPort, `protocol`, hostIP }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hostPort = try c.decode(Int.self, forKey: .hostPort)
        containerPort = try c.decode(Int.self, forKey: .containerPort)
        `protocol` = (try c.decodeIfPresent(String.self, forKey: .protocol) ?? "tcp").lowercased()
        hostIP = try c.decodeIfPresent(String.self, forKey: .hostIP).flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Whether the binary runs as the network plugin (`weft-cni`) or as an IPAM plugin called by another (`weft-ipam`).
public enum PluginRole: Sendable {
    case network
    case ipam
}

/// One attachment named in `cni.dev/valid-attachments` (GC).
public struct Attachment: Sendable, Hashable, Codable {
    public var containerID: String
    public var ifname: String

    public init(containerID: String, ifname: String) {
        self.containerID = containerID
        self.ifname = ifname
    }
}

/// DNS settings, as in a CNI result.
public struct DNSConfig: Sendable, Hashable, Codable {
    public var nameservers: [String]?
    public var domain: String?
    public var search: [String]?
    public var options: [String]?

    public init(nameservers: [String]? = nil, domain: String? = nil, search: [String]? = nil, options: [String]? = nil)
    {
        self.nameservers = nameservers
        self.domain = domain
        self.search = search
        self.options = options
    }
}

/// The network configuration a runtime passes on stdin (SPEC.md, "Section 1: Network configuration format"),
/// with the keys of the reference bridge plugin where they overlap. Unknown keys are ignored, as the spec requires.
public struct NetworkConfig: Sendable {
    public var cniVersion: String
    public var name: String
    public var type: String
    public var mode: NetworkMode = .bridge
    public var bridge: String = "weft0"
    public var isGateway = false
    public var isDefaultGateway = false
    public var forceAddress = false
    public var ipMasq = false
    /// Destinations the pods' traffic keeps its source address towards under `ipMasq`, besides the pod's own
    /// subnet: the cluster's pod networks (`nonMasqueradeCIDRs`, as Flannel and kubenet's `nonMasqueradeCIDR`).
    public var nonMasqueradeCIDRs: [IPPrefix] = []
    public var mtu: Int?
    public var hairpinMode = false
    public var promiscMode = false
    public var vlan: Int?
    public var macspoofchk = false
    /// Where Weft keeps what it made for each attachment, for DEL, CHECK and GC.
    public var stateDir: String = "/var/lib/cni/weft"
    public var ipam: IPAMConfig?
    public var dns: DNSConfig?
    public var runtimeMAC: MACAddress?
    public var requestedIPs: [IPAddress] = []
    public var portMappings: [PortMapping] = []
    public var prevResult: JSONValue?
    public var validAttachments: [Attachment]?
    /// The whole configuration as received, for delegated plugins.
    public var raw: JSONValue

    /// Parses and validates a configuration. Throws CNI error 6 for undecodable JSON, 1 for an unsupported
    /// version and 7 for an invalid configuration.
    public static func parse(_ bytes: [UInt8], role: PluginRole = .network) throws -> NetworkConfig {
        let raw = try JSONCoding.decode(JSONValue.self, from: bytes, what: "network configuration")
        guard case .object(let o) = raw else {
            throw CNIError(.decodeFailure, "network configuration must be a JSON object")
        }
        func string(_ k: String) throws -> String? {
            guard let v = o[k], v != .null else { return nil }
            guard case .string(let s) = v else { throw CNIError(.invalidConfig, "'\(k)' must be a string") }
            return s
        }
        func bool(_ k: String) throws -> Bool {
            guard let v = o[k], v != .null else { return false }
            guard case .bool(let b) = v else { throw CNIError(.invalidConfig, "'\(k)' must be true or false") }
            return b
        }
        func int(_ k: String) throws -> Int? {
            guard let v = o[k], v != .null else { return nil }
            guard case .number(let n) = v, n.rounded() == n, abs(n) < 1e9 else {
                throw CNIError(.invalidConfig, "'\(k)' must be an integer")
            }
            return Int(n)
        }
        func prefixes(_ k: String) throws -> [IPPrefix] {
            guard let v = o[k], v != .null else { return [] }
            guard case .array(let items) = v else {
                throw CNIError(.invalidConfig, "'\(k)' must be an array of CIDR strings")
            }
            return try items.map { item in
                guard case .string(let s) = item else {
                    throw CNIError(.invalidConfig, "'\(k)' must be an array of CIDR strings")
                }
                guard let p = IPPrefix(s), s.contains("/") else {
                    throw CNIError(.invalidConfig, "'\(k)': '\(s)' is not a CIDR prefix")
                }
                guard p.isNetworkAddress else {
                    throw CNIError(
                        .invalidConfig,
                        "'\(k)': '\(s)' is not a network address (has host bits set); did you mean \(p.network)?")
                }
                return p
            }
        }
        guard let version = try string("cniVersion") else {
            throw CNIError(.invalidConfig, "network configuration has no 'cniVersion'")
        }
        try CNIVersion.require(version)
        guard let name = try string("name"), !name.isEmpty else {
            throw CNIError(.invalidConfig, "network configuration has no 'name'")
        }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), name != ".", name != ".." else {
            throw CNIError(.invalidConfig, "network name '\(name)' may contain only letters, digits, '-', '_' and '.'")
        }
        var c = NetworkConfig(cniVersion: version, name: name, type: try string("type") ?? "weft-cni", raw: raw)
        if let d = try string("stateDir") { c.stateDir = d }
        if let ipam = o["ipam"], ipam != .null, ipam != .object([:]) {
            c.ipam = try IPAMConfig.parse(ipam)
        }
        try c.parseRuntime(o)
        // As an IPAM plugin, the top-level keys belong to the calling plugin (a macvlan's `mode`, say).
        guard role == .network else { return c }
        if let m = try string("mode") {
            guard let mode = NetworkMode(rawValue: m) else {
                throw CNIError(.invalidConfig, "unknown mode '\(m)'; expected 'bridge' or 'ptp'")
            }
            c.mode = mode
        }
        if let b = try string("bridge") { c.bridge = b }
        try InterfaceName.validate(c.bridge, what: "bridge name", code: .invalidConfig)
        c.isDefaultGateway = try bool("isDefaultGateway")
        c.isGateway = try bool("isGateway") || c.isDefaultGateway
        c.forceAddress = try bool("forceAddress")
        c.ipMasq = try bool("ipMasq")
        c.nonMasqueradeCIDRs = try prefixes("nonMasqueradeCIDRs")
        c.hairpinMode = try bool("hairpinMode")
        c.promiscMode = try bool("promiscMode")
        c.macspoofchk = try bool("macspoofchk")
        c.mtu = try int("mtu")
        if let mtu = c.mtu, !(68...65535).contains(mtu) {
            throw CNIError(.invalidConfig, "mtu \(mtu) is out of range 68-65535")
        }
        c.vlan = try int("vlan")
        if let v = c.vlan, !(0...4094).contains(v) {
            throw CNIError(.invalidConfig, "vlan \(v) is out of range 0-4094")
        }
        if c.vlan == 0 { c.vlan = nil }
        if let dns = o["dns"], dns != .null {
            c.dns = try? dns.decode(DNSConfig.self)
        }
        return c
    }

    /// The keys every role reads: runtime capabilities, CNI args, prevResult and GC's valid attachments.
    private mutating func parseRuntime(_ o: [String: JSONValue]) throws {
        var c = self
        defer { self = c }
        if let rc = o["runtimeConfig"]?.objectValue {
            if let m = rc["mac"]?.stringValue {
                guard let mac = MACAddress(m) else {
                    throw CNIError(.invalidConfig, "runtimeConfig.mac '\(m)' is not a MAC address")
                }
                c.runtimeMAC = mac
            }
            if let ips = rc["ips"]?.arrayValue {
                c.requestedIPs += try ips.map {
                    try Self.parseRequestedIP($0.stringValue ?? "", source: "runtimeConfig.ips")
                }
            }
            if let pm = rc["portMappings"], pm != .null {
                do {
                    c.portMappings = try pm.decode([PortMapping].self)
                } catch {
                    throw CNIError(.invalidConfig, "runtimeConfig.portMappings is malformed: \(error)")
                }
                for m in c.portMappings {
                    guard (1...65535).contains(m.hostPort), (1...65535).contains(m.containerPort) else {
                        throw CNIError(.invalidConfig, "port mapping \(m.hostPort)->\(m.containerPort) is out of range")
                    }
                    guard ["tcp", "udp", "sctp"].contains(m.protocol) else {
                        throw CNIError(.invalidConfig, "port mapping protocol '\(m.protocol)' is not tcp, udp or sctp")
                    }
                    if let h = m.hostIP, IPAddress(h) == nil {
                        throw CNIError(.invalidConfig, "port mapping hostIP '\(h)' is not an IP address")
                    }
                }
            }
        }
        // The older `args.cni.ips` convention (CONVENTIONS.md).
        if let ips = o["args"]?["cni"]?["ips"]?.arrayValue {
            c.requestedIPs += try ips.map { try Self.parseRequestedIP($0.stringValue ?? "", source: "args.cni.ips") }
        }
        if let p = o["prevResult"], p != .null { c.prevResult = p }
        if let v = o["cni.dev/valid-attachments"], v != .null {
            do {
                c.validAttachments = try v.decode([Attachment].self)
            } catch {
                throw CNIError(.invalidConfig, "cni.dev/valid-attachments is malformed: \(error)")
            }
        }
    }

    /// Requested addresses may be given as `10.1.2.3` or `10.1.2.3/24`; the prefix length is ignored.
    static func parseRequestedIP(_ s: String, source: String) throws -> IPAddress {
        let addr = s.split(separator: "/").first.map(String.init) ?? s
        guard let ip = IPAddress(addr) else {
            throw CNIError(.invalidConfig, "\(source): '\(s)' is not an IP address")
        }
        return ip
    }
}

/// Linux interface name rules: 1–15 bytes, no '/', no whitespace, not '.' or '..'.
public enum InterfaceName {
    public static func validate(_ name: String, what: String, code: CNIError.Code) throws {
        guard !name.isEmpty else { throw CNIError(code, "\(what) is empty") }
        guard name.utf8.count <= 15 else {
            throw CNIError(code, "\(what) '\(name)' is longer than 15 bytes")
        }
        guard name != ".", name != "..", !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) else {
            throw CNIError(code, "\(what) '\(name)' contains characters an interface name cannot have")
        }
    }
}
