import Glibc
import NFTables
import Netlink
import WeftNet

/// weft-cni's verbs. `run` is the whole plugin: the executable only gathers argv, the environment and stdin.
public struct Plugin {
    public let role: PluginRole
    private let makeBackend: () -> any NFTablesBackend

    /// - Parameters:
    ///   - role: `.network` for `weft-cni`, `.ipam` when installed and called as `weft-ipam`.
    ///   - nftables: the nftables backend, created only if an invocation needs rules.
    public init(role: PluginRole, nftables: @escaping () -> any NFTablesBackend = { defaultNFTablesBackend() }) {
        self.role = role
        self.makeBackend = nftables
    }

    /// The role implied by the name the binary was started under.
    public static func role(forExecutable argv0: String) -> PluginRole {
        argv0.split(separator: "/").last == "weft-ipam" ? .ipam : .network
    }

    public struct Output: Sendable {
        public var exitCode: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    /// Runs one invocation. Errors are printed as CNI error JSON on stdout with exit code 1 (SPEC.md, "Error").
    public func run(environment: [String: String], stdin: [UInt8]) -> Output {
        var version = CNIVersion.current
        if let v = try? JSONCoding.decode(JSONValue.self, from: stdin, what: "config")["cniVersion"]?.stringValue,
            CNIVersion.isSupported(v)
        {
            version = v
        }
        do {
            let env = try CNIEnvironment(environment)
            let out = try dispatch(env, stdin, version: version)
            return Output(exitCode: 0, stdout: out, stderr: [])
        } catch let e as CNIError {
            return Output(exitCode: 1, stdout: e.json(cniVersion: version), stderr: Array((e.description + "\n").utf8))
        } catch {
            let e = CNIError(rawCode: 999, msg: "\(error)", details: nil)
            return Output(exitCode: 1, stdout: e.json(cniVersion: version), stderr: Array((e.description + "\n").utf8))
        }
    }

    private func dispatch(_ env: CNIEnvironment, _ stdin: [UInt8], version: String) throws -> [UInt8] {
        if env.command == .version { return versionInfo(version) }
        let config = try NetworkConfig.parse(stdin, role: role)
        if role == .network, config.ipam == nil, config.mode == .ptp {
            throw CNIError(.invalidConfig, "ptp mode needs an 'ipam' section")
        }
        if role == .ipam, config.ipam?.isBuiltin != true {
            throw CNIError(.invalidConfig, "weft-ipam needs \"ipam\": {\"type\": \"weft-ipam\", …}")
        }
        switch env.command {
        case .check:
            guard CNIVersion.atLeast(config.cniVersion, "0.4.0") else {
                throw CNIError(
                    .incompatibleVersion, "CHECK needs cniVersion 0.4.0 or later, config has \(config.cniVersion)")
            }
        case .gc, .status:
            guard CNIVersion.atLeast(config.cniVersion, "1.1.0") else {
                throw CNIError(
                    .incompatibleVersion,
                    "\(env.command.rawValue) needs cniVersion 1.1.0 or later, config has \(config.cniVersion)")
            }
        default: break
        }
        let ctx = Invocation(config: config, env: env, stdin: stdin, makeBackend: makeBackend)
        switch (role, env.command) {
        case (.network, .add): return try ctx.add()
        case (.network, .del): try ctx.del()
        case (.network, .check): try ctx.check()
        case (.network, .gc): try ctx.gc()
        case (.network, .status): try ctx.status()
        case (.ipam, .add): return try ctx.ipamAdd()
        case (.ipam, .del): try ctx.ipamDel()
        case (.ipam, .check): try ctx.ipamCheck()
        case (.ipam, .gc): try ctx.ipamGC()
        case (.ipam, .status): try ctx.ipamStatus()
        case (_, .version): break
        }
        return []
    }

    /// VERSION's answer, in the version the request asked for (already read by `run`).
    private func versionInfo(_ v: String) -> [UInt8] {
        return JSONCoding.encode(
            JSONValue.object([
                "cniVersion": .string(v), "supportedVersions": .array(CNIVersion.supported.map { .string($0) }),
            ]))
    }
}
