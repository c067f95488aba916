import Foundation
import WeftNet

/// One plugin execution: what a runtime hands to the process runner.
public struct CNIPluginCall: Sendable {
    /// The plugin binary, absolute.
    public var path: String
    /// The plugin's whole environment (nothing is inherited).
    public var environment: [String: String]
    /// The request configuration, JSON.
    public var stdin: [UInt8]

    public init(path: String, environment: [String: String], stdin: [UInt8]) {
        self.path = path
        self.environment = environment
        self.stdin = stdin
    }
}

/// What the call produced (exit status, stdout, stderr).
public struct CNIPluginOutput: Sendable {
    public var exitStatus: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(exitStatus: Int32, stdout: [UInt8], stderr: [UInt8]) {
        self.exitStatus = exitStatus
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// One attachment of a container to the network: the SPEC's "Attachment Parameters".
public struct CNIAttachment: Sendable {
    /// `CNI_CONTAINERID`: a letter or digit, then letters, digits, `_`, `.` and `-`.
    public var containerID: String
    /// `CNI_NETNS`: the path of the container's network namespace.
    public var networkNamespace: String
    /// `CNI_IFNAME`: the interface inside the container.
    public var ifname: String
    /// `CNI_ARGS`, in order, e.g. `K8S_POD_NAMESPACE=…`.
    public var args: [(String, String)]
    /// Capability arguments (e.g. `portMappings`), handed to the plugins that declare the capability.
    public var capabilityArgs: [String: JSONValue]

    public init(
        containerID: String, networkNamespace: String, ifname: String, args: [(String, String)] = [],
        capabilityArgs: [String: JSONValue] = [:]
    ) {
        self.containerID = containerID
        self.networkNamespace = networkNamespace
        self.ifname = ifname
        self.args = args
        self.capabilityArgs = capabilityArgs
    }
}

/// Why a network operation failed: the plugin and command when a plugin failed (with the CNI error it printed, if
/// any), otherwise the runtime's own reason (configuration, cache, arguments).
public struct CNIRuntimeError: Error, Sendable, CustomStringConvertible {
    /// The `type` of the plugin that failed; `nil` when no plugin was at fault.
    public var plugin: String?
    /// `ADD`, `DEL`, `CHECK`, `GC` or `STATUS`; `nil` while loading the configuration.
    public var command: String?
    /// The CNI error code when the plugin printed a CNI error (SPEC Section 5 "Error"): 1–99 well known,
    /// 50/51 STATUS, 100+ the plugin's own.
    public var code: Int?
    public var message: String
    public var details: String?

    public init(
        plugin: String? = nil, command: String? = nil, code: Int? = nil, message: String, details: String? = nil
    ) {
        self.plugin = plugin
        self.command = command
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String {
        var text: String
        switch (plugin, command) {
        case (let plugin?, let command?): text = "CNI plugin \"\(plugin)\" failed (\(command)): "
        case (nil, let command?): text = "CNI \(command): "
        default: text = "CNI: "
        }
        text += message
        if let code { text += " (code \(code))" }
        if let details, !details.isEmpty { text += ": \(details)" }
        return text
    }
}

/// The container-runtime side of CNI (what libcni does for containerd and the kubelet): executes the network
/// configuration list in `configDirectory` with the plugins in `pluginDirectories`, and keeps each attachment's
/// result in libcni's cache format under `cacheDirectory`.
///
/// Plugins run through `execute`, which starts the binary with exactly the given environment and stdin. Operations
/// on different attachments may run concurrently (each has its own cache file); the caller must not run two
/// operations on the same attachment at once, nor anything during `garbageCollect` (SPEC Section 3 "Lifecycle &
/// Ordering").
public struct CNIRuntime: Sendable {
    public let configDirectory: String
    public let pluginDirectories: [String]
    public let cacheDirectory: String
    private let execute: @Sendable (CNIPluginCall) async throws -> CNIPluginOutput

    public init(
        configDirectory: String, pluginDirectories: [String], cacheDirectory: String,
        execute: @escaping @Sendable (CNIPluginCall) async throws -> CNIPluginOutput
    ) {
        self.configDirectory = configDirectory
        self.pluginDirectories = pluginDirectories
        self.cacheDirectory = cacheDirectory
        self.execute = execute
    }

    /// The network the runtime uses: as libcni/containerd, the first file by name in `configDirectory` ending
    /// `.conflist`, `.conf` or `.json` (a single `.conf`/`.json` plugin is wrapped as a one-plugin list). An invalid
    /// first file is an error, not skipped, as in containerd.
    public func loadNetwork() throws -> CNINetworkList {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: configDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CNIRuntimeError(message: "the CNI configuration directory \(configDirectory) does not exist")
        }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: configDirectory)
        } catch {
            throw CNIRuntimeError(message: "cannot list the CNI configuration directory \(configDirectory): \(error)")
        }
        let candidates = names.filter { name in
            guard [".conflist", ".conf", ".json"].contains(where: { name.hasSuffix($0) }) else { return false }
            var isDirectory: ObjCBool = false
            return manager.fileExists(atPath: "\(configDirectory)/\(name)", isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }
        guard let first = candidates.sorted(by: Self.byteOrder).first else {
            throw CNIRuntimeError(
                message: "no network configuration (*.conflist, *.conf, *.json) in \(configDirectory)")
        }
        let path = "\(configDirectory)/\(first)"
        guard let data = manager.contents(atPath: path) else {
            throw CNIRuntimeError(message: "cannot read the network configuration \(path)")
        }
        do {
            return first.hasSuffix(".conflist")
                ? try CNINetworkList(conflist: Array(data)) : try CNINetworkList(conf: Array(data))
        } catch let error as CNIRuntimeError {
            throw CNIRuntimeError(message: "network configuration \(path): \(error.message)")
        }
    }

    /// Adds the attachment (SPEC Section 3 "Adding an attachment"): every plugin in order, each given the previous
    /// plugin's result as `prevResult`; the last result is cached and returned unchanged. When a plugin fails, the
    /// whole list is deleted (best effort: a runtime must follow a failed ADD with DEL) and the ADD error thrown.
    public func add(_ attachment: CNIAttachment) async throws -> JSONValue {
        try Self.validate(attachment, command: "ADD")
        let list = try loadNetwork()
        var result: JSONValue?
        do {
            for plugin in list.plugins {
                let config = attachmentConfig(plugin, list, attachment.capabilityArgs, prevResult: result)
                let stdout = try await run("ADD", plugin, config, environment("ADD", attachment))
                result = try Self.parseResult(stdout, plugin: plugin)
            }
        } catch {
            await rollBack(attachment, list)
            throw error
        }
        guard let result else { throw CNIRuntimeError(command: "ADD", message: "the network has no plugins") }
        let path = cachePath(network: list.name, containerID: attachment.containerID, ifname: attachment.ifname)
        let entry = CNICacheEntry(
            path: path, attachment: attachment, networkName: list.name, config: list.bytes, result: result)
        do {
            try writeCacheEntry(entry)
        } catch {
            await rollBack(attachment, list)
            throw error
        }
        return result
    }

    /// Deletes the attachment (SPEC Section 3 "Deleting an attachment"): every plugin in reverse order, stopping
    /// at the first failure. With a cached ADD, the configuration, `CNI_ARGS` and capability arguments are the
    /// cached ones (the file on disk may have changed or vanished since) and each plugin gets the cached result as
    /// `prevResult` (from 0.4.0 on); the cache file is removed once every plugin succeeded. Without one, the
    /// current configuration runs without `prevResult`: DEL must be idempotent, so deleting what was never added
    /// succeeds when the plugins do.
    public func delete(_ attachment: CNIAttachment) async throws {
        try Self.validate(attachment, command: "DEL")
        let current = Result { try loadNetwork() }
        let network = try? current.get().name
        let entry = cacheEntry(containerID: attachment.containerID, ifname: attachment.ifname, network: network)
        try await delete(attachment, cached: entry, current: current)
    }

    /// Checks the attachment (SPEC Section 3 "Checking an attachment"): every plugin in order, each with the cached
    /// ADD result as `prevResult`. Nothing runs when the list sets `disableCheck`; an attachment without a cached
    /// result, or a list older than 0.4.0, is an error.
    public func check(_ attachment: CNIAttachment) async throws {
        try Self.validate(attachment, command: "CHECK")
        let list = try loadNetwork()
        guard list.version >= .check else {
            throw CNIRuntimeError(
                command: "CHECK", message: "network \"\(list.name)\" is version \(list.cniVersion); CHECK needs 0.4.0")
        }
        if list.disableCheck { return }
        let path = cachePath(network: list.name, containerID: attachment.containerID, ifname: attachment.ifname)
        guard let result = readCacheEntry(at: path)?.result else {
            throw CNIRuntimeError(
                command: "CHECK",
                message: "no cached result for container \(attachment.containerID) interface \(attachment.ifname) "
                    + "in network \"\(list.name)\" (CHECK needs a previous ADD)")
        }
        for plugin in list.plugins {
            let config = attachmentConfig(plugin, list, attachment.capabilityArgs, prevResult: result)
            _ = try await run("CHECK", plugin, config, environment("CHECK", attachment))
        }
    }

    /// Garbage-collects the network, as libcni's `GCNetworkList`: first DEL for every cached attachment of this
    /// network that is not in `valid` (which removes its cache file), then — for 1.1.0 lists — GC to every plugin in
    /// order with `cni.dev/valid-attachments` (SPEC 1.1 Section 3 "Garbage-collecting a network"). Failures do not
    /// stop the others; all of them are thrown together. Nothing runs when the list sets `disableGC`.
    public func garbageCollect(valid: [CNIAttachment]) async throws {
        let list = try loadNetwork()
        if list.disableGC { return }
        let keep = Set(valid.map { AttachmentKey(containerID: $0.containerID, ifname: $0.ifname) })
        var failures: [CNIRuntimeError] = []
        for entry in allCacheEntries() where entry.networkName == list.name {
            guard !keep.contains(AttachmentKey(containerID: entry.containerID, ifname: entry.ifName)) else { continue }
            let attachment = entry.attachment(defaultArgs: [])
            do {
                try Self.validate(attachment, command: "DEL")
                try await delete(attachment, cached: entry, current: .success(list))
            } catch {
                failures.append(Self.runtimeError(error, command: "DEL"))
            }
        }
        if list.version >= .gcAndStatus {
            let attachments = JSONValue.array(
                valid.map { .object(["containerID": .string($0.containerID), "ifname": .string($0.ifname)]) })
            for plugin in list.plugins {
                var config = baseConfig(plugin, list)
                config["cni.dev/valid-attachments"] = attachments
                // SPEC 1.1.0 as tagged named the key `cni.dev/attachments`; libcni sends both (containernetworking/cni#1101).
                config["cni.dev/attachments"] = attachments
                do {
                    _ = try await run("GC", plugin, config, environment("GC", nil))
                } catch {
                    failures.append(Self.runtimeError(error, command: "GC"))
                }
            }
        }
        if failures.count == 1 { throw failures[0] }
        if !failures.isEmpty {
            throw CNIRuntimeError(command: "GC", message: failures.map(\.description).joined(separator: "; "))
        }
    }

    /// Asks every plugin in order whether it is ready for ADDs (SPEC 1.1 `STATUS`); the first failure is thrown
    /// with its code (50: not available, 51: not available and existing containers may be limited). Lists older
    /// than 1.1.0 have no STATUS and succeed without running anything, as in libcni.
    public func status() async throws {
        let list = try loadNetwork()
        guard list.version >= .gcAndStatus else { return }
        for plugin in list.plugins {
            _ = try await run("STATUS", plugin, baseConfig(plugin, list), environment("STATUS", nil))
        }
    }

    /// The result cached by the last successful ADD of `(containerID, ifname)` (under the current network's name,
    /// else under any network name), or `nil`.
    public func cachedResult(containerID: String, ifname: String) -> JSONValue? {
        guard Self.isIdentifier(containerID), Self.isInterfaceName(ifname) else { return nil }
        let network = try? loadNetwork().name
        return cacheEntry(containerID: containerID, ifname: ifname, network: network)?.result
    }

    // MARK: - Deleting

    /// DEL with `entry`'s configuration and arguments when there is a usable cached ADD, else with `current`.
    private func delete(
        _ attachment: CNIAttachment, cached entry: CNICacheEntry?, current: Result<CNINetworkList, any Error>
    ) async throws {
        var attachment = attachment
        var prevResult: JSONValue?
        let list: CNINetworkList
        if let entry, let cached = try? CNINetworkList(conflist: entry.config) {
            list = cached
            // The cached arguments, but the namespace the caller gives now (libcni's `getCachedConfig`).
            let namespace = attachment.networkNamespace
            attachment = entry.attachment(defaultArgs: attachment.args)
            attachment.networkNamespace = namespace
            if list.version >= .check { prevResult = entry.result }
        } else {
            list = try current.get()
        }
        for plugin in list.plugins.reversed() {
            let config = attachmentConfig(plugin, list, attachment.capabilityArgs, prevResult: prevResult)
            _ = try await run("DEL", plugin, config, environment("DEL", attachment))
        }
        if let entry { removeCacheFile(entry.path) }
        removeCacheFile(cachePath(network: list.name, containerID: attachment.containerID, ifname: attachment.ifname))
    }

    /// After a failed ADD: DEL of every plugin in reverse order, without `prevResult` (there is no final result),
    /// each attempted whatever the others did, errors ignored.
    private func rollBack(_ attachment: CNIAttachment, _ list: CNINetworkList) async {
        for plugin in list.plugins.reversed() {
            let config = attachmentConfig(plugin, list, attachment.capabilityArgs, prevResult: nil)
            _ = try? await run("DEL", plugin, config, environment("DEL", attachment))
        }
        removeCacheFile(cachePath(network: list.name, containerID: attachment.containerID, ifname: attachment.ifname))
    }

    // MARK: - Request configuration and environment

    /// SPEC Section 3 "Deriving request configuration from plugin configuration", common part: the plugin object
    /// with the list's `name` and `cniVersion`. Fields prefixed `cni.dev/` are the runtime's to set, so the
    /// plugin object's own are dropped; everything else passes through unaltered.
    private func baseConfig(_ plugin: JSONValue, _ list: CNINetworkList) -> JSONValue {
        var object = (plugin.objectValue ?? [:]).filter { !$0.key.hasPrefix("cni.dev/") }
        object["name"] = .string(list.name)
        object["cniVersion"] = .string(list.cniVersion)
        return .object(object)
    }

    /// The request configuration of ADD, DEL and CHECK: `runtimeConfig` holds the capability arguments whose key
    /// the plugin declares `true` in `capabilities` (omitted when none, as libcni does), `capabilities` itself
    /// "must not be set", and `prevResult` is set only when there is one.
    private func attachmentConfig(
        _ plugin: JSONValue, _ list: CNINetworkList, _ capabilityArgs: [String: JSONValue], prevResult: JSONValue?
    ) -> JSONValue {
        var config = baseConfig(plugin, list)
        var runtimeConfig: [String: JSONValue] = [:]
        for (capability, declared) in plugin["capabilities"]?.objectValue ?? [:] where declared == .bool(true) {
            runtimeConfig[capability] = capabilityArgs[capability]
        }
        config["capabilities"] = nil
        if !runtimeConfig.isEmpty { config["runtimeConfig"] = .object(runtimeConfig) }
        config["prevResult"] = prevResult
        return config
    }

    /// The plugin's environment: `CNI_COMMAND`, `CNI_PATH` and `PATH`, and for ADD/DEL/CHECK the attachment's
    /// `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME` and `CNI_ARGS` (`K=V;K=V`). GC and STATUS have no attachment.
    private func environment(_ command: String, _ attachment: CNIAttachment?) -> [String: String] {
        var environment = [
            "CNI_COMMAND": command,
            "CNI_PATH": pluginDirectories.joined(separator: ":"),
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? Self.defaultPath,
        ]
        if let attachment {
            environment["CNI_CONTAINERID"] = attachment.containerID
            environment["CNI_NETNS"] = attachment.networkNamespace
            environment["CNI_IFNAME"] = attachment.ifname
            environment["CNI_ARGS"] = attachment.args.map { "\($0.0)=\($0.1)" }.joined(separator: ";")
        }
        return environment
    }

    /// The plugins' `PATH` when the runtime itself has none.
    private static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    // MARK: - Executing plugins

    /// Runs one plugin: finds its binary, executes it, and returns its stdout when it exited 0.
    private func run(
        _ command: String, _ plugin: JSONValue, _ config: JSONValue, _ environment: [String: String]
    ) async throws -> [UInt8] {
        let type = plugin["type"]?.stringValue ?? ""
        let path = try findPlugin(type, command: command)
        let output: CNIPluginOutput
        do {
            output = try await execute(CNIPluginCall(path: path, environment: environment, stdin: config.serialized()))
        } catch {
            throw CNIRuntimeError(plugin: type, command: command, message: "could not execute \(path): \(error)")
        }
        guard output.exitStatus == 0 else { throw Self.pluginError(output, plugin: type, command: command) }
        return output.stdout
    }

    /// The plugin binary: `type` in the first plugin directory that has it as a regular executable file. A
    /// `type` is a file name, never a path.
    private func findPlugin(_ type: String, command: String) throws -> String {
        guard !type.isEmpty, type != ".", type != "..", !type.contains("/") else {
            throw CNIRuntimeError(
                plugin: type, command: command, message: "invalid plugin type \"\(type)\": it must be a file name")
        }
        let manager = FileManager.default
        for directory in pluginDirectories {
            let path = "\(directory)/\(type)"
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                manager.isExecutableFile(atPath: path)
            {
                return path
            }
        }
        throw CNIRuntimeError(
            plugin: type, command: command,
            message: "plugin binary not found in \(pluginDirectories.joined(separator: ":"))")
    }

    /// A failed plugin's error: the CNI error JSON on stdout (SPEC Section 5 "Error": `code`, `msg`, `details`),
    /// else its stderr, else its exit status — as libcni's `pluginErr`.
    private static func pluginError(_ output: CNIPluginOutput, plugin: String, command: String) -> CNIRuntimeError {
        let stdout = text(output.stdout)
        let stderr = text(output.stderr)
        if !stdout.isEmpty {
            if case .object(let object)? = try? JSONValue(parsing: output.stdout),
                case .number(let code)? = object["code"], let code = Int(exactly: code)
            {
                return CNIRuntimeError(
                    plugin: plugin, command: command, code: code,
                    message: object["msg"]?.stringValue ?? "exit status \(output.exitStatus)",
                    details: object["details"]?.stringValue)
            }
            return CNIRuntimeError(
                plugin: plugin, command: command,
                message: "exit status \(output.exitStatus); output is not a CNI error: \(stdout)",
                details: stderr.isEmpty ? nil : stderr)
        }
        return CNIRuntimeError(
            plugin: plugin, command: command,
            message: stderr.isEmpty ? "exit status \(output.exitStatus) without an error message" : stderr)
    }

    /// An ADD result: a JSON object, passed on unchanged (SPEC Section 5 "ADD Success").
    private static func parseResult(_ stdout: [UInt8], plugin: JSONValue) throws -> JSONValue {
        let type = plugin["type"]?.stringValue ?? ""
        do {
            let result = try JSONValue(parsing: stdout)
            guard case .object = result else {
                throw CNIRuntimeError(plugin: type, command: "ADD", message: "the result is not a JSON object")
            }
            return result
        } catch let error as JSONParseError {
            throw CNIRuntimeError(
                plugin: type, command: "ADD",
                message: stdout.isEmpty ? "no result on stdout" : "invalid result JSON: \(error)")
        }
    }

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func runtimeError(_ error: any Error, command: String) -> CNIRuntimeError {
        error as? CNIRuntimeError ?? CNIRuntimeError(command: command, message: "\(error)")
    }

    // MARK: - Validation

    /// Container IDs and interface names become part of a cache file name and of the plugins' environment:
    /// SPEC Section 2 "Parameters" restricts both.
    private static func validate(_ attachment: CNIAttachment, command: String) throws {
        guard isIdentifier(attachment.containerID) else {
            throw CNIRuntimeError(
                command: command,
                message: "invalid container ID \"\(attachment.containerID)\": it must start with a letter or digit, "
                    + "followed by letters, digits, '_', '.' or '-'")
        }
        guard isInterfaceName(attachment.ifname) else {
            throw CNIRuntimeError(
                command: command,
                message: "invalid interface name \"\(attachment.ifname)\": 1–15 bytes, not '.' or '..', "
                    + "without '/', ':' or whitespace")
        }
    }

    /// A letter or digit, then letters, digits, `_`, `.` and `-` (ASCII).
    static func isIdentifier(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, isAlphanumeric(first) else { return false }
        return bytes.dropFirst().allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// A Linux interface name: 1–15 bytes, not `.` or `..`, no `/`, `:` or whitespace.
    private static func isInterfaceName(_ name: String) -> Bool {
        (1...15).contains(name.utf8.count) && name != "." && name != ".."
            && !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace })
    }

    /// File names in byte order, as Go's `sort.Strings`.
    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

/// An attachment's identity for GC: `(containerID, ifname)`.
private struct AttachmentKey: Hashable {
    var containerID: String
    var ifname: String
}
