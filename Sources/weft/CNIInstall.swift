import ArgumentParser
import NFTables

/// Installs weft-cni into a CNI bin directory, with the `weft-ipam` link, as a node agent would.
struct CNIInstall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-cni", abstract: "Copy weft-cni (and the weft-ipam link) into a CNI bin directory.")

    @Option(help: "The CNI bin directory.") var dir = "/opt/cni/bin"

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
    }
}
