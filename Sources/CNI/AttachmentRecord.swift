import FoundationEssentials
import WeftNet

/// What one ADD made, kept on disk so DEL, CHECK and GC undo or verify exactly that, even when the
/// runtime's own cache or the container's netns is gone.
public struct AttachmentRecord: Sendable, Codable, Hashable {
    public var network: String
    public var containerID: String
    public var ifname: String
    public var netns: String
    public var mode: NetworkMode
    public var bridge: String?
    public var hostVeth: String
    /// Container addresses with the prefix length of their subnet.
    public var ips: [IPPrefix]
    public var masquerade: Bool
    /// The network's `nonMasqueradeCIDRs` at ADD: destinations exempt from the masquerade.
    public var nonMasqueradeCIDRs: [IPPrefix]
    public var portMappings: [PortMapping]
    public var containerMAC: String?
    public var macspoofchk: Bool
    /// The result ADD printed, in the 1.1.0 model.
    public var resultJSON: JSONValue?

    public init(
        network: String, containerID: String, ifname: String, netns: String, mode: NetworkMode, bridge: String?,
        hostVeth: String, ips: [IPPrefix], masquerade: Bool, nonMasqueradeCIDRs: [IPPrefix],
        portMappings: [PortMapping], containerMAC: String?, macspoofchk: Bool, resultJSON: JSONValue?
    ) {
        self.network = network
        self.containerID = containerID
        self.ifname = ifname
        self.netns = netns
        self.mode = mode
        self.bridge = bridge
        self.hostVeth = hostVeth
        self.ips = ips
        self.masquerade = masquerade
        self.nonMasqueradeCIDRs = nonMasqueradeCIDRs
        self.portMappings = portMappings
        self.containerMAC = containerMAC
        self.macspoofchk = macspoofchk
        self.resultJSON = resultJSON
    }

    /// Records written before `nonMasqueradeCIDRs` existed have no such key: they exempt no extra destination.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        network = try c.decode(String.self, forKey: .network)
        containerID = try c.decode(String.self, forKey: .containerID)
        ifname = try c.decode(String.self, forKey: .ifname)
        netns = try c.decode(String.self, forKey: .netns)
        mode = try c.decode(NetworkMode.self, forKey: .mode)
        bridge = try c.decodeIfPresent(String.self, forKey: .bridge)
        hostVeth = try c.decode(String.self, forKey: .hostVeth)
        ips = try c.decode([IPPrefix].self, forKey: .ips)
        masquerade = try c.decode(Bool.self, forKey: .masquerade)
        nonMasqueradeCIDRs = try c.decodeIfPresent([IPPrefix].self, forKey: .nonMasqueradeCIDRs) ?? []
        portMappings = try c.decode([PortMapping].self, forKey: .portMappings)
        containerMAC = try c.decodeIfPresent(String.self, forKey: .containerMAC)
        macspoofchk = try c.decode(Bool.self, forKey: .macspoofchk)
        resultJSON = try c.decodeIfPresent(JSONValue.self, forKey: .resultJSON)
    }
}

/// Records stored as `STATEDIR/NETWORK/CONTAINERID-IFNAME.json`.
public struct AttachmentStore: Sendable {
    public let directory: String

    public init(stateDir: String, network: String) {
        directory = stateDir + "/" + network
    }

    private func path(_ containerID: String, _ ifname: String) -> String {
        "\(directory)/\(containerID)-\(ifname).json"
    }

    public func save(_ r: AttachmentRecord) throws {
        try FileSystem.makeDirectories(directory)
        try FileSystem.writeFile(path(r.containerID, r.ifname), JSONCoding.encode(r))
    }

    public func load(containerID: String, ifname: String) -> AttachmentRecord? {
        FileSystem.readBytes(path(containerID, ifname)).flatMap {
            try? JSONDecoder().decode(AttachmentRecord.self, from: Data($0))
        }
    }

    public func remove(containerID: String, ifname: String) {
        FileSystem.remove(path(containerID, ifname))
    }

    public func all() -> [AttachmentRecord] {
        FileSystem.listDirectory(directory).filter { $0.hasSuffix(".json") }.compactMap {
            FileSystem.readBytes(directory + "/" + $0).flatMap {
                try? JSONDecoder().decode(AttachmentRecord.self, from: Data($0))
            }
        }
    }
}

/// Deterministic host-side veth names: `wf` and 12 hex digits of a hash of the attachment, so DEL and GC find the
/// interface without the container's netns and never touch an interface Weft did not name.
public enum HostVethName {
    public static let prefix = "wf"

    public static func make(containerID: String, ifname: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
        for b in (containerID + "/" + ifname).utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        let padded = String(repeating: "0", count: 16 - hex.count) + hex
        return prefix + padded.prefix(12)
    }
}
