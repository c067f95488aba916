import CNI
import KubeModel
import WeftNet

/// Requested bandwidth limits for one attachment (capability `bandwidth`, CNI CONVENTIONS.md): rates in bits per
/// second, bursts in bits. Only the keys given are passed on.
public struct BandwidthRequest: Sendable, Hashable {
    public var ingressRate: Int?
    public var ingressBurst: Int?
    public var egressRate: Int?
    public var egressBurst: Int?

    public init(ingressRate: Int? = nil, ingressBurst: Int? = nil, egressRate: Int? = nil, egressBurst: Int? = nil) {
        self.ingressRate = ingressRate
        self.ingressBurst = ingressBurst
        self.egressRate = egressRate
        self.egressBurst = egressBurst
    }

    /// The `runtimeConfig.bandwidth` object.
    public var json: JSONValue {
        var o: [String: JSONValue] = [:]
        for (k, v) in [
            ("ingressRate", ingressRate), ("ingressBurst", ingressBurst), ("egressRate", egressRate),
            ("egressBurst", egressBurst),
        ] {
            if let v { o[k] = .number(Double(v)) }
        }
        return .object(o)
    }
}

/// One element of the pod annotation `k8s.v1.cni.cncf.io/networks` (multi-net spec v1.3 §4.1.2 "Network
/// Attachment Selection Annotation"; the Go model is `NetworkSelectionElement` in
/// network-attachment-definition-client). Values are validated when parsed; the requests are kept in the form
/// they are handed to plugins.
public struct NetworkSelection: Sendable, Hashable {
    /// The NetworkAttachmentDefinition's name.
    public var name: String
    /// Its namespace; `nil` means the pod's own (spec: "If not given, the pod's namespace").
    public var namespace: String?
    /// The interface name requested inside the pod (`net1`, `net2`, … when `nil`).
    public var interface: String?
    /// Requested addresses (`runtimeConfig.ips`), as given: `10.1.2.3` or `10.1.2.3/24`.
    public var ips: [String]
    /// Requested MAC address (`runtimeConfig.mac`).
    public var mac: MACAddress?
    /// Gateways this attachment should install as the pod's default route (`default-route`).
    public var defaultRoute: [IPAddress]
    /// `cni-args`: passed to every plugin of the attachment's configuration as `args.cni` (see `AttachmentPlan`).
    public var cniArgs: [String: JSONValue]?
    /// Requested hostPort mappings (`runtimeConfig.portMappings`).
    public var portMappings: [PortMapping]
    /// Requested bandwidth limits (`runtimeConfig.bandwidth`).
    public var bandwidth: BandwidthRequest?
    /// Keys of the JSON element that Weft recognised but does not act on (`infiniband-guid`, `deviceID`, …) or
    /// does not know: the spec lets an implementation ignore them; they are listed for a log line.
    public var ignoredKeys: [String]

    public init(
        name: String, namespace: String? = nil, interface: String? = nil, ips: [String] = [], mac: MACAddress? = nil,
        defaultRoute: [IPAddress] = [], cniArgs: [String: JSONValue]? = nil, portMappings: [PortMapping] = [],
        bandwidth: BandwidthRequest? = nil, ignoredKeys: [String] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.interface = interface
        self.ips = ips
        self.mac = mac
        self.defaultRoute = defaultRoute
        self.cniArgs = cniArgs
        self.portMappings = portMappings
        self.bandwidth = bandwidth
        self.ignoredKeys = ignoredKeys
    }

    /// The annotation's key.
    public static let annotation = NetworkAttachmentDefinition.networksAnnotation

    /// Parses the annotation's value. Two forms (§4.1.2): a comma-separated list of `[namespace/]name[@interface]`
    /// (whitespace around items and parts tolerated), or a JSON list of objects. As in
    /// network-attachment-definition-client's `ParseNetworkAnnotation`, a value containing `[`, `{` or `"` is the
    /// JSON form. An empty or blank value selects no network.
    public static func parse(annotation value: String) throws(MultiNetworkError) -> [NetworkSelection] {
        let text = value.trimmed
        if text.isEmpty { return [] }
        if text.contains(where: { "[{\"".contains($0) }) { return try parseJSON(text) }
        return try parseCommaList(text)
    }

    /// The selections of `pod`'s annotation (none when it has no annotation).
    public static func parse(pod: Pod) throws(MultiNetworkError) -> [NetworkSelection] {
        guard let value = pod.metadata.annotations?[annotation] else { return [] }
        return try parse(annotation: value)
    }

    // MARK: - Comma form

    static func parseCommaList(_ text: String) throws(MultiNetworkError) -> [NetworkSelection] {
        var result: [NetworkSelection] = []
        for (offset, rawItem) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let index = offset + 1
            let item = String(rawItem).trimmed
            guard !item.isEmpty else {
                throw .invalidSelection(index: index, field: "name", reason: "is empty (stray comma?)")
            }
            let slash = item.split(separator: "/", omittingEmptySubsequences: false).map { String($0).trimmed }
            guard slash.count <= 2 else {
                throw .invalidSelection(
                    index: index, field: "\"\(item)\"",
                    reason: "has more than one '/'; expected namespace/name@interface")
            }
            let namespace = slash.count == 2 ? slash[0] : nil
            let at = slash[slash.count - 1].split(separator: "@", omittingEmptySubsequences: false)
                .map { String($0).trimmed }
            guard at.count <= 2 else {
                throw .invalidSelection(
                    index: index, field: "\"\(item)\"",
                    reason: "has more than one '@'; expected namespace/name@interface")
            }
            let selection = NetworkSelection(name: at[0], namespace: namespace, interface: at.count == 2 ? at[1] : nil)
            if namespace == "" {
                throw .invalidSelection(index: index, field: "namespace", reason: "is empty in \"\(item)\"")
            }
            if at.count == 2, at[1].isEmpty {
                throw .invalidSelection(index: index, field: "interface", reason: "is empty in \"\(item)\"")
            }
            try selection.validateNames(index: index)
            result.append(selection)
        }
        return result
    }

    // MARK: - JSON form

    static func parseJSON(_ text: String) throws(MultiNetworkError) -> [NetworkSelection] {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            throw .malformedJSON(error.description)
        }
        guard case .array(let elements) = value else {
            throw .malformedJSON("expected a JSON list of network selections, found \(value.kindName)")
        }
        var result: [NetworkSelection] = []
        for (offset, element) in elements.enumerated() {
            result.append(try parseElement(element, index: offset + 1))
        }
        return result
    }

    /// The keys of the spec's selection element that Weft acts on.
    static let knownKeys: Set<String> = [
        "name", "namespace", "interface", "ips", "mac", "default-route", "cni-args", "portMappings", "bandwidth",
    ]

    static func parseElement(_ element: JSONValue, index: Int) throws(MultiNetworkError) -> NetworkSelection {
        guard case .object(let o) = element else {
            throw .invalidSelection(index: index, field: "entry", reason: "is \(element.kindName), not a JSON object")
        }
        func string(_ key: String) throws(MultiNetworkError) -> String? {
            guard let v = o[key], v != .null else { return nil }
            guard case .string(let s) = v else {
                throw .invalidSelection(index: index, field: "\"\(key)\"", reason: "is \(v.kindName), not a string")
            }
            return s
        }
        func strings(_ key: String) throws(MultiNetworkError) -> [String] {
            guard let v = o[key], v != .null else { return [] }
            guard case .array(let items) = v else {
                throw .invalidSelection(index: index, field: "\"\(key)\"", reason: "is \(v.kindName), not a list")
            }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else {
                    throw .invalidSelection(
                        index: index, field: "\"\(key)\"", reason: "holds \(item.kindName), not only strings")
                }
                out.append(s)
            }
            return out
        }
        guard let name = try string("name") else {
            throw .invalidSelection(index: index, field: "name", reason: "is missing")
        }
        var s = NetworkSelection(
            name: name.trimmed, namespace: try string("namespace"), interface: try string("interface"))
        try s.validateNames(index: index)

        // §4.1.2: "ips" — addresses with an optional prefix length; each must parse.
        s.ips = try strings("ips")
        for ip in s.ips {
            let valid = ip.contains("/") ? IPPrefix(ip) != nil : IPAddress(ip) != nil
            guard valid else {
                throw .invalidSelection(index: index, field: "ips", reason: "entry \"\(ip)\" is not an IP address")
            }
        }
        if let m = try string("mac") {
            guard let mac = MACAddress(m) else {
                throw .invalidSelection(index: index, field: "mac", reason: "\"\(m)\" is not a MAC address")
            }
            s.mac = mac
        }
        for gw in try strings("default-route") {
            guard let ip = IPAddress(gw) else {
                throw .invalidSelection(
                    index: index, field: "default-route", reason: "entry \"\(gw)\" is not an IP address")
            }
            s.defaultRoute.append(ip)
        }
        if let args = o["cni-args"], args != .null {
            guard case .object(let a) = args else {
                throw .invalidSelection(index: index, field: "cni-args", reason: "is \(args.kindName), not an object")
            }
            s.cniArgs = a
        }
        if let pm = o["portMappings"], pm != .null {
            s.portMappings = try parsePortMappings(pm, index: index)
        }
        if let bw = o["bandwidth"], bw != .null {
            s.bandwidth = try parseBandwidth(bw, index: index)
        }
        s.ignoredKeys = o.keys.filter { !knownKeys.contains($0) }.sorted()
        return s
    }

    static func parsePortMappings(_ value: JSONValue, index: Int) throws(MultiNetworkError) -> [PortMapping] {
        guard case .array(let items) = value else {
            throw .invalidSelection(index: index, field: "portMappings", reason: "is \(value.kindName), not a list")
        }
        var out: [PortMapping] = []
        for (n, item) in items.enumerated() {
            let field = "portMappings[\(n)]"
            guard case .object(let o) = item else {
                throw .invalidSelection(index: index, field: field, reason: "is \(item.kindName), not an object")
            }
            func port(_ key: String) throws(MultiNetworkError) -> Int {
                guard let v = o[key] else {
                    throw .invalidSelection(index: index, field: field, reason: "has no \"\(key)\"")
                }
                guard case .number(let d) = v, d.rounded() == d, (1...65535).contains(d) else {
                    throw .invalidSelection(index: index, field: field, reason: "\"\(key)\" is not a port 1-65535")
                }
                return Int(d)
            }
            var mapping = PortMapping(hostPort: try port("hostPort"), containerPort: try port("containerPort"))
            if let p = o["protocol"], p != .null {
                guard case .string(let proto) = p, ["tcp", "udp", "sctp"].contains(proto.lowercased()) else {
                    throw .invalidSelection(index: index, field: field, reason: "\"protocol\" is not tcp, udp or sctp")
                }
                mapping.protocol = proto.lowercased()
            }
            if let h = o["hostIP"], h != .null {
                guard case .string(let host) = h, host.isEmpty || IPAddress(host) != nil else {
                    throw .invalidSelection(index: index, field: field, reason: "\"hostIP\" is not an IP address")
                }
                mapping.hostIP = host.isEmpty ? nil : host
            }
            out.append(mapping)
        }
        return out
    }

    static func parseBandwidth(_ value: JSONValue, index: Int) throws(MultiNetworkError) -> BandwidthRequest {
        guard case .object(let o) = value else {
            throw .invalidSelection(index: index, field: "bandwidth", reason: "is \(value.kindName), not an object")
        }
        func rate(_ key: String) throws(MultiNetworkError) -> Int? {
            guard let v = o[key], v != .null else { return nil }
            guard case .number(let d) = v, d.rounded() == d, d >= 0, d < 9.2e18 else {
                throw .invalidSelection(
                    index: index, field: "bandwidth", reason: "\"\(key)\" is not a non-negative integer")
            }
            return Int(d)
        }
        return BandwidthRequest(
            ingressRate: try rate("ingressRate"), ingressBurst: try rate("ingressBurst"),
            egressRate: try rate("egressRate"), egressBurst: try rate("egressBurst"))
    }

    // MARK: - Names

    /// The NAD name is an object name (DNS-1123 subdomain), the namespace a DNS-1123 label, the interface a Linux
    /// interface name (1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace).
    func validateNames(index: Int) throws(MultiNetworkError) {
        guard !name.isEmpty else { throw .invalidSelection(index: index, field: "name", reason: "is empty") }
        if let why = LabelValidation.isDNS1123Subdomain(name).first {
            throw .invalidSelection(
                index: index, field: "name", reason: "\"\(name)\" is not a valid object name: \(why)")
        }
        if let namespace {
            guard !namespace.isEmpty else {
                throw .invalidSelection(index: index, field: "namespace", reason: "is empty")
            }
            if let why = LabelValidation.isDNS1123Label(namespace).first {
                throw .invalidSelection(
                    index: index, field: "namespace", reason: "\"\(namespace)\" is not a valid namespace name: \(why)")
            }
        }
        if let interface, let why = Self.interfaceNameProblem(interface) {
            throw .invalidSelection(index: index, field: "interface", reason: why)
        }
    }

    /// Why `name` cannot be a Linux interface name, or `nil`.
    static func interfaceNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 15 { return "\"\(name)\" is longer than 15 bytes" }
        if name == "." || name == ".." || name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) {
            return "\"\(name)\" contains characters an interface name cannot have"
        }
        return nil
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension JSONValue {
    /// "a string", "a number", … for messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}
