import Foundation
import WeftNet

/// A network configuration list (CNI SPEC "Section 1: Network configuration format"), as the runtime executes it.
public struct CNINetworkList: Sendable {
    /// The network's name: the first part of the cache key `(network, container ID, interface)`.
    public var name: String
    /// The protocol version every plugin is executed with: `cniVersion`, or the highest of `cniVersions` this
    /// runtime implements (SPEC 1.1 "Version considerations").
    public var cniVersion: String
    /// When true, CHECK is never executed for this network.
    public var disableCheck: Bool
    /// When true, GC is never executed for this network (SPEC 1.1).
    public var disableGC: Bool
    /// The plugin configuration objects, in execution order; each has a string `type`.
    public var plugins: [JSONValue]
    /// The list's JSON text: the file's bytes for a `.conflist`, the generated wrapper for a single plugin. This is
    /// what the cache keeps (as libcni does), so DEL can run the configuration that was added.
    public var bytes: [UInt8]

    /// The newest protocol version this runtime implements.
    static let implementedVersion = "1.1.0"

    /// Parses a configuration list (`.conflist`). `disableCheck` and `disableGC` accept booleans and, as libcni
    /// does, the strings "true" and "false".
    public init(conflist bytes: [UInt8]) throws {
        let object = try Self.parseObject(bytes)
        guard case .string(let name)? = object["name"] else {
            throw CNIRuntimeError(message: "the configuration list has no string \"name\"")
        }
        try Self.validateName(name)
        self.name = name
        self.cniVersion = try Self.selectVersion(object)
        self.disableCheck = try Self.flag("disableCheck", in: object)
        self.disableGC = try Self.flag("disableGC", in: object)
        guard case .array(let plugins)? = object["plugins"], !plugins.isEmpty else {
            throw CNIRuntimeError(message: "the configuration list \"\(name)\" has no \"plugins\"")
        }
        for (index, plugin) in plugins.enumerated() {
            guard case .string(let type)? = plugin["type"], !type.isEmpty else {
                throw CNIRuntimeError(message: "plugin \(index) of network \"\(name)\" has no string \"type\"")
            }
        }
        self.plugins = plugins
        self.bytes = bytes
    }

    /// Wraps a single plugin configuration (`.conf`, `.json`) as a one-plugin list, as libcni's
    /// `ConfListFromConf` does: the list takes the plugin's `name` and `cniVersion`.
    public init(conf bytes: [UInt8]) throws {
        let object = try Self.parseObject(bytes)
        guard case .string(let type)? = object["type"], !type.isEmpty else {
            throw CNIRuntimeError(message: "the plugin configuration has no string \"type\"")
        }
        var wrapper: [String: JSONValue] = ["plugins": .array([.object(object)])]
        wrapper["name"] = object["name"]
        wrapper["cniVersion"] = object["cniVersion"]
        try self.init(conflist: JSONValue.object(wrapper).serialized())
    }

    private static func parseObject(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes)
        } catch {
            throw CNIRuntimeError(message: "invalid JSON: \(error)")
        }
        guard case .object(let object) = value else { throw CNIRuntimeError(message: "not a JSON object") }
        return object
    }

    /// Network names start with an alphanumeric character, then alphanumerics, `_`, `.` and `-` (SPEC Section 1):
    /// the name becomes part of a file name in the cache.
    static func validateName(_ name: String) throws {
        guard CNIRuntime.isIdentifier(name) else {
            throw CNIRuntimeError(
                message: "invalid network name \"\(name)\": it must start with a letter or digit, followed by "
                    + "letters, digits, '_', '.' or '-'")
        }
    }

    /// `cniVersion`, or with `cniVersions` the highest version of both that this runtime implements (libcni
    /// ignores the newer ones the same way).
    private static func selectVersion(_ object: [String: JSONValue]) throws -> String {
        var candidates: [String] = []
        switch object["cniVersion"] {
        case .string(let version)?: candidates.append(version)
        case nil: break
        default: throw CNIRuntimeError(message: "\"cniVersion\" is not a string")
        }
        if let versions = object["cniVersions"] {
            guard case .array(let entries) = versions else {
                throw CNIRuntimeError(message: "\"cniVersions\" is not an array")
            }
            for entry in entries {
                guard case .string(let version) = entry else {
                    throw CNIRuntimeError(message: "\"cniVersions\" holds a value that is not a string")
                }
                candidates.append(version)
            }
        }
        var best: (text: String, version: CNIVersion)?
        for text in candidates {
            guard let version = CNIVersion(text) else {
                throw CNIRuntimeError(message: "invalid CNI version \"\(text)\"")
            }
            if object["cniVersions"] != nil, version > CNIVersion.implemented { continue }
            if let current = best, current.version >= version { continue }
            best = (text, version)
        }
        guard let best else {
            throw CNIRuntimeError(
                message: candidates.isEmpty
                    ? "the configuration has no \"cniVersion\""
                    : "none of the configuration's versions \(candidates) is \(implementedVersion) or older")
        }
        return best.text
    }

    private static func flag(_ key: String, in object: [String: JSONValue]) throws -> Bool {
        switch object[key] {
        case nil: return false
        case .bool(let value)?: return value
        case .string(let text)? where text.lowercased() == "true": return true
        case .string(let text)? where text.lowercased() == "false": return false
        default: throw CNIRuntimeError(message: "\"\(key)\" is neither true nor false")
        }
    }

    /// The list's protocol version, parsed (it was validated when the list was parsed).
    var version: CNIVersion { CNIVersion(cniVersion) ?? CNIVersion.implemented }
}

/// A CNI protocol version, `MAJOR[.MINOR[.PATCH]]` as libcni's `version.ParseVersion` reads it.
struct CNIVersion: Comparable, Sendable {
    var major: Int
    var minor: Int
    var patch: Int

    static let implemented = CNIVersion(1, 1, 0)
    /// CHECK and `prevResult` on DEL exist from 0.4.0 on.
    static let check = CNIVersion(0, 4, 0)
    /// GC and STATUS exist from 1.1.0 on.
    static let gcAndStatus = CNIVersion(1, 1, 0)

    init(_ major: Int, _ minor: Int, _ patch: Int) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber), let number = Int(part)
            else { return nil }
            numbers.append(number)
        }
        numbers += Array(repeating: 0, count: 3 - numbers.count)
        self.init(numbers[0], numbers[1], numbers[2])
    }

    static func < (a: CNIVersion, b: CNIVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}
