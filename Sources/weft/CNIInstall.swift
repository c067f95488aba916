import ArgumentParser
import Foundation
import NFTables
import WeftNet

/// Installs weft-cni into a CNI bin directory, with the `weft-ipam` link, as a node agent would.
struct CNIInstall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-cni", abstract: "Copy weft-cni (and the weft-ipam link) into a CNI bin directory.")

    @Option(help: "The CNI bin directory.") var dir = "/opt/cni/bin"
    @Option(
        help: """
            A CNI configuration list to give weft-cni's secondary networks: its weft-cni plugins get a \
            "multiNetwork" section naming --multi-network-socket (written in place).
            """)
    var conflist: String?
    @Option(help: "The agent's multi-network socket, for --conflist.") var multiNetworkSocket =
        "/run/weft/multinet.sock"
    @Option(help: "Pods whose secondary networks are attached at once on the node, for --conflist.")
    var maxConcurrent = 8

    func run() throws {
        let source = LabCommand.cniPlugin
        guard
            let r = try? ProcessRunner.run(
                "/bin/sh",
                arguments: [
                    "-c",
                    "install -D -m 0755 '\(source)' '\(dir)/weft-cni.tmp' && mv -f '\(dir)/weft-cni.tmp' '\(dir)/weft-cni' && ln -sf weft-cni '\(dir)/weft-ipam'",
                ], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]),
            r.succeeded
        else {
            throw ValidationError("could not install \(source) into \(dir)")
        }
        print("installed \(dir)/weft-cni and \(dir)/weft-ipam")
        if let conflist {
            try Self.enableMultiNetwork(
                conflist: conflist, socket: multiNetworkSocket, maxConcurrent: maxConcurrent)
            print("\(conflist): weft-cni asks \(multiNetworkSocket) for pods' secondary networks")
        }
    }

    /// Adds `multiNetwork` to every weft-cni plugin of the configuration list at `path`.
    static func enableMultiNetwork(conflist path: String, socket: String, maxConcurrent: Int) throws {
        guard let data = FileManager.default.contents(atPath: path),
            case .object(var list) = try JSONValue(parsing: data)
        else { throw ValidationError("\(path) is not a JSON configuration list") }
        var found = false
        let plugins = (list["plugins"]?.arrayValue ?? []).map { plugin -> JSONValue in
            guard case .object(var p) = plugin, p["type"] == .string("weft-cni") else { return plugin }
            found = true
            p["multiNetwork"] = .object(["socket": .string(socket), "maxConcurrent": .number(Double(maxConcurrent))])
            return .object(p)
        }
        guard found else { throw ValidationError("\(path) has no weft-cni plugin") }
        list["plugins"] = .array(plugins)
        try Data(JSONValue.object(list).serialized()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
