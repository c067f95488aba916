import Foundation
import WeftNet

/// One attachment in libcni's cache, `CACHEDIR/results/NETWORK-CONTAINERID-IFNAME`: libcni's `cachedInfo`, kind
/// `cniCacheV1`, so libcni-based tools (and a runtime switched back to libcni) read what this runtime wrote.
struct CNICacheEntry: Sendable {
    static let kind = "cniCacheV1"

    /// The file the entry was read from or is written to.
    var path: String
    var containerID: String
    var ifName: String
    var networkName: String
    var networkNamespace: String
    /// The network configuration list's bytes at ADD (Go's `[]byte`, so base64 in the JSON).
    var config: [UInt8]
    /// `nil` when ADD had none (Go's `omitempty`): DEL then keeps the arguments it was given, as libcni does.
    var cniArgs: [(String, String)]?
    var capabilityArgs: [String: JSONValue]
    var result: JSONValue?

    init(
        path: String, attachment: CNIAttachment, networkName: String, config: [UInt8], result: JSONValue
    ) {
        self.path = path
        self.containerID = attachment.containerID
        self.ifName = attachment.ifname
        self.networkName = networkName
        self.networkNamespace = attachment.networkNamespace
        self.config = config
        self.cniArgs = attachment.args.isEmpty ? nil : attachment.args
        self.capabilityArgs = attachment.capabilityArgs
        self.result = result
    }

    /// Reads an entry; `nil` for anything that is not a complete `cniCacheV1` entry (libcni skips those too).
    init?(path: String, bytes: [UInt8]) {
        guard case .object(let object)? = try? JSONValue(parsing: bytes), object["kind"] == .string(Self.kind),
            case .string(let containerID)? = object["containerId"], case .string(let ifName)? = object["ifName"],
            case .string(let networkName)? = object["networkName"], case .string(let encoded)? = object["config"],
            let config = Data(base64Encoded: encoded)
        else { return nil }
        self.path = path
        self.containerID = containerID
        self.ifName = ifName
        self.networkName = networkName
        self.networkNamespace = object["netns"]?.stringValue ?? ""
        self.config = Array(config)
        if case .array(let pairs)? = object["cniArgs"] {
            var args: [(String, String)] = []
            for pair in pairs {
                guard case .array(let kv) = pair, kv.count == 2, case .string(let key) = kv[0],
                    case .string(let value) = kv[1]
                else { return nil }
                args.append((key, value))
            }
            self.cniArgs = args
        }
        self.capabilityArgs = object["capabilityArgs"]?.objectValue ?? [:]
        self.result = object["result"]
    }

    /// The entry's JSON, with Go's `omitempty` fields left out when empty.
    func serialized() -> [UInt8] {
        var object: [String: JSONValue] = [
            "kind": .string(Self.kind),
            "containerId": .string(containerID),
            "config": .string(Data(config).base64EncodedString()),
            "ifName": .string(ifName),
            "networkName": .string(networkName),
        ]
        if !networkNamespace.isEmpty { object["netns"] = .string(networkNamespace) }
        if let cniArgs { object["cniArgs"] = .array(cniArgs.map { .array([.string($0.0), .string($0.1)]) }) }
        if !capabilityArgs.isEmpty { object["capabilityArgs"] = .object(capabilityArgs) }
        object["result"] = result
        return JSONValue.object(object).serialized()
    }

    /// The attachment DEL runs for this entry: its container, namespace and interface, with the arguments ADD had.
    func attachment(defaultArgs: [(String, String)]) -> CNIAttachment {
        CNIAttachment(
            containerID: containerID, networkNamespace: networkNamespace, ifname: ifName,
            args: cniArgs ?? defaultArgs, capabilityArgs: capabilityArgs)
    }
}

extension CNIRuntime {
    var resultsDirectory: String { cacheDirectory + "/results" }

    /// libcni's cache file name. Only called with validated names (no '/' in any part).
    func cachePath(network: String, containerID: String, ifname: String) -> String {
        "\(resultsDirectory)/\(network)-\(containerID)-\(ifname)"
    }

    func readCacheEntry(at path: String) -> CNICacheEntry? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return CNICacheEntry(path: path, bytes: Array(data))
    }

    /// Every readable entry, by file name.
    func allCacheEntries() -> [CNICacheEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: resultsDirectory)) ?? []
        return names.sorted(by: Self.byteOrder).compactMap { readCacheEntry(at: "\(resultsDirectory)/\($0)") }
    }

    /// The cached ADD of `(containerID, ifname)`: under `network` when given, otherwise (or when that file is
    /// missing, e.g. the network was renamed or its file removed since ADD) the first entry by file name for that
    /// container and interface.
    func cacheEntry(containerID: String, ifname: String, network: String?) -> CNICacheEntry? {
        if let network,
            let entry = readCacheEntry(at: cachePath(network: network, containerID: containerID, ifname: ifname)),
            entry.containerID == containerID, entry.ifName == ifname
        {
            return entry
        }
        return allCacheEntries().first { $0.containerID == containerID && $0.ifName == ifname }
    }

    /// Writes the entry through a temporary file and `rename`, so a concurrent reader sees the old file or the
    /// new one, never half of one. The temporary file is outside `results`, where a crash cannot leave something
    /// that looks like an entry. Directory 0700 and file 0600, as libcni.
    func writeCacheEntry(_ entry: CNICacheEntry) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(
                atPath: resultsDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let temporary = "\(cacheDirectory)/.result-\(UUID().uuidString).tmp"
            guard
                manager.createFile(
                    atPath: temporary, contents: Data(entry.serialized()), attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
            guard rename(temporary, entry.path) == 0 else {
                let code = errno
                try? manager.removeItem(atPath: temporary)
                throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
            }
        } catch {
            throw CNIRuntimeError(
                command: "ADD", message: "could not write the cached result \(entry.path): \(error)")
        }
    }

    func removeCacheFile(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
