import CNI
import Glibc
import NFTables
import Netlink
import Testing
import WeftNet

/// Root-only tests run the real binaries in throwaway network namespaces.
let isRoot = getuid() == 0
let referencePluginsDir = "/usr/lib/cni"
let hasReferencePlugins = access(referencePluginsDir + "/bridge", X_OK) == 0

/// All tests that touch the kernel nest in this suite, which runs them one at a time: they share the node's
/// `weft-cni` nftables tables and some remove them when they end.
@Suite(.serialized) enum KernelTests {}

/// Everything one test makes, removed in `cleanup()` whatever happened.
final class Harness: @unchecked Sendable {
    let tag: String
    let dir: String
    let cniPath: String
    private(set) var namespaces: [String] = []
    private(set) var hostLinks: [String] = []
    /// Configurations weft-cni ADDed, by network name: cleanup GCs each network with no valid attachment.
    private var networks: [String: JSONValue] = [:]

    static var packageRoot: String {
        var parts = #filePath.split(separator: "/").dropLast(3)
        if parts.isEmpty { parts = [] }
        return "/" + parts.joined(separator: "/")
    }

    /// The plugin binary: $WEFT_CNI_BIN, else the debug build of this checkout.
    static var pluginBinary: String {
        if let p = getenv("WEFT_CNI_BIN") { return String(cString: p) }
        return packageRoot + "/.build/debug/weft-cni"
    }

    init() throws {
        tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        var template = Array("/tmp/weft-it-XXXXXX".utf8CString)
        dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        cniPath = dir + "/bin"
        mkdir(cniPath, 0o755)
        guard access(Self.pluginBinary, X_OK) == 0 else {
            throw HarnessError("weft-cni binary not found at \(Self.pluginBinary); run `swift build` first")
        }
        symlink(Self.pluginBinary, cniPath + "/weft-cni")
        symlink(Self.pluginBinary, cniPath + "/weft-ipam")
        for p in FileSystemList.entries(referencePluginsDir) {
            symlink(referencePluginsDir + "/" + p, cniPath + "/" + p)
        }
    }

    /// A short unique name with a prefix, for links and namespaces (≤ 15 bytes).
    func name(_ prefix: String) -> String { String((prefix + tag).prefix(15)) }

    func makeNetNS(_ n: String) throws -> String {
        let name = "weft-t\(tag)-\(n)"
        _ = try NetNS.create(name: name)
        namespaces.append(name)
        return "/run/netns/" + name
    }

    func ownLink(_ name: String) { hostLinks.append(name) }

    /// Runs the CNI binary `plugin` (in our CNI_PATH) with a verb.
    func cni(
        _ command: String, config: String, containerID: String = "", netns: String = "", ifname: String = "eth0",
        plugin: String = "weft-cni", extraEnv: [String: String] = [:]
    ) throws -> CNIOutcome {
        var env = ["CNI_COMMAND": command, "CNI_PATH": cniPath, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        if !containerID.isEmpty { env["CNI_CONTAINERID"] = containerID }
        if !netns.isEmpty { env["CNI_NETNS"] = netns }
        if command != "GC" && command != "STATUS" && command != "VERSION" { env["CNI_IFNAME"] = ifname }
        env.merge(extraEnv) { $1 }
        if command == "ADD", plugin == "weft-cni",
            let c = try? JSONCoding.decode(JSONValue.self, from: Array(config.utf8), what: "config"),
            let name = c["name"]?.stringValue
        {
            networks[name] = c
        }
        let r = try ProcessRunner.run(
            cniPath + "/" + plugin, arguments: [], environment: env, stdin: Array(config.utf8))
        let json = try? JSONCoding.decode(JSONValue.self, from: r.stdout, what: "output")
        return CNIOutcome(exitStatus: r.exitStatus, stdout: r.stdoutString, stderr: r.stderrString, json: json)
    }

    func cleanup() {
        // GC of every network with no valid attachment, as a runtime does for a network it no longer uses:
        // it removes what DEL keeps for the network (masquerade subnets, the idle bridge).
        for (_, c) in networks {
            var gc = c
            gc["cniVersion"] = .string("1.1.0")
            gc["cni.dev/valid-attachments"] = .array([])
            gc["prevResult"] = nil
            gc["runtimeConfig"] = nil
            let body = String(decoding: JSONCoding.encode(gc), as: UTF8.self)
            _ = try? cni("GC", config: body)
        }
        networks.removeAll()
        for n in namespaces { try? NetNS.delete(name: n) }
        namespaces.removeAll()
        if let s = try? RouteSocket() {
            for l in hostLinks { if let link = try? s.link(named: l) { try? s.deleteLink(index: link.index) } }
            s.close()
        }
        _ = system("rm -rf '\(dir)'")
        removeIdleWeftTables()
    }

    deinit { cleanup() }
}

/// Removes the node's weft-cni tables when no element is left in them, i.e. no attachment of any network uses
/// them: the tests then leave no table behind, and never take rules from pods that are really running here.
func removeIdleWeftTables() {
    let inet = sh("nft list table inet weft-cni 2>/dev/null").output
    let bridge = sh("nft list table bridge weft-cni 2>/dev/null").output
    guard !inet.contains("elements"), !bridge.contains("elements") else { return }
    _ = sh("nft delete table inet weft-cni 2>/dev/null; nft delete table bridge weft-cni 2>/dev/null")
}

struct CNIOutcome {
    var exitStatus: Int32
    var stdout: String
    var stderr: String
    var json: JSONValue?

    var ok: Bool { exitStatus == 0 }
    var code: Int? {
        if case .number(let n)? = json?["code"] { return Int(n) }
        return nil
    }

    /// The addresses of the result's `ips`, without prefix length.
    var addresses: [String] {
        (json?["ips"]?.arrayValue ?? []).compactMap {
            $0["address"]?.stringValue?.split(separator: "/").first.map(String.init)
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

enum FileSystemList {
    static func entries(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let n = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if n != "." && n != ".." { out.append(n) }
        }
        return out
    }
}

/// Shell out for checks that compare with the tools a user would use.
func sh(_ command: String) -> (status: Int32, output: String) {
    let r = try? ProcessRunner.run(
        "/bin/sh", arguments: ["-c", command], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
    return (r?.exitStatus ?? -1, (r?.stdoutString ?? "") + (r?.stderrString ?? ""))
}
